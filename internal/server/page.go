package server

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// The status page answers on-call's first question — what is broken, since
// when, and what do I do — without JavaScript, CDNs or a build step: one
// server-rendered template and two small embedded assets.

//go:embed page.html.tmpl
var pageSource string

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.New("page").Parse(pageSource))

// Thresholds are the settings a resource is judged by, shown beside its
// numbers so a reader can tell "high" from "over the line".
type Thresholds struct {
	ResponseTime       time.Duration // slower successes count as degraded
	ErrorRate          float64       // ratio 0..1 over ErrorWindow
	Availability       float64       // ratio 0..1 over AvailabilityWindow
	ErrorWindow        time.Duration
	AvailabilityWindow time.Duration
	Schedule           string
}

// assetHandler serves the embedded CSS and script under /assets/.
func assetHandler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The URL carries the version, so a day's caching is safe.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only socmond's own stylesheet and script:
// the page loads nothing from elsewhere and runs no inline code. The filter
// form submits to the page itself, and its script fetches the filtered page
// from it (connect-src).
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.RawQuery)
	if err != nil {
		// A hand-edited or mangled link: say what is wrong rather than
		// show a status the reader did not ask for.
		http.Error(w, "Bad filter: "+err.Error()+". The whole status is at this path without a query.", http.StatusBadRequest)
		return
	}
	now := s.now()
	data := pageData{Version: s.version, Generated: stamp(now, now), Panels: []panelView{}}
	if s.source != nil {
		data.Ready = s.source.Ready()
		data.build(s.source.Snapshots(now), f, s.thresholds, now)
	} else {
		data.Overall = "No health source is configured."
	}
	for _, p := range filterPanels(s.panels(now), f) {
		data.Panels = append(data.Panels, toPanelView(p, now))
	}
	// Render into a buffer first so a template error becomes a clean 500
	// instead of half a page.
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		s.log.Error().Err(err).Msg("rendering status page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}

type pageData struct {
	Version   string
	Generated timeView
	Ready     bool
	Overall   string // one sentence: the answer at a glance
	Worst     string // CSS status class of the worst resource
	Counts    []countView
	Attention []*card // not healthy, worst first
	Services  []serviceView
	Panels    []panelView
	// Filters are the tenant, account and region controls; nil when no
	// resource has a place and none is asked for, so a single-account
	// config's page has none.
	Filters *filtersView
}

// filtersView is the filter form and, while a filter is on, what it left.
type filtersView struct {
	Selects []selectView
	Active  string // the filter in words, "" when off
	Shown   int    // resources the filter kept, of
	Total   int
}

type selectView struct {
	Name, Label string // query key; "Tenant"
	Options     []optionView
}

type optionView struct {
	Value, Text string
	Selected    bool
}

type countView struct {
	Class, Label string
	N            int
}

type serviceView struct {
	Name  string // the label value, for ids
	Title string // what a person reads: "Step Functions"
	Cards []*card
}

type timeView struct {
	ISO, Text, Ago string // machine-readable, UTC wall clock, "3m12s ago"
}

type card struct {
	ID                   string
	Service, Resource    string
	ServiceName          string // Service as a person reads it
	Place                string // "tenant acme · account 111111111111 · eu-west-1" for a tenant's pipeline's resource
	Class, Label, Symbol string
	Since                timeView
	For                  string
	LastCheck            timeView
	LastRT, P95          string
	ErrorRatio, Avail    string
	ErrorN, AvailN       int
	// ErrorNote, AvailNote and SlowNote say, next to a ratio or the p95,
	// whether it crosses its threshold and what that means for the alert
	// (docs/alerting.md): "over threshold: alerting" only while the alert's
	// condition is active, so the card never contradicts the word or the
	// page; otherwise why a crossed threshold does not alert.
	ErrorNote, AvailNote, SlowNote string
	TH                             *thView
	Failure                        *failView
	FailureCurrent                 bool
	History                        []pointView
	HistorySummary                 string
}

type thView struct {
	ResponseTime, ErrorRate, Availability, ErrorWindow, AvailWindow, Schedule string
}

type failView struct {
	Check, Class, Code, RequestID, Hint, Detail string
	At                                          timeView
}

type pointView struct {
	Class, Title string
}

type panelView struct {
	ID, Title string
	Items     []itemView
}

type itemView struct {
	Name, Resource, Place, State, Class, Symbol, Reason, Hint string
	At                                                        *timeView
	Details                                                   []kv
}

type kv struct{ K, V string }

// statusRank ranks statuses worst first, for the attention list.
func statusRank(st probes.Status) int {
	switch st {
	case probes.Unavailable:
		return 0
	case probes.Degraded:
		return 1
	case probes.Healthy:
		return 3
	}
	return 2 // no result yet
}

// crossedNote is what a card says about a measure that crossed its
// threshold: alerting while the condition is active; else too few probes
// for the guard, or not failing now.
func crossedNote(dir string, crossed bool, c health.Condition, samples, min int) string {
	switch {
	case !crossed && !c.Active:
		return ""
	case c.Active:
		return dir + " threshold: alerting"
	case samples < min:
		return fmt.Sprintf("%s threshold, too few probes to alert (%d of %d)", dir, samples, min)
	}
	return dir + " threshold, not failing now: no alert"
}

func statusLabel(st probes.Status) (class, label, symbol string) {
	switch st {
	case probes.Healthy:
		return "healthy", "HEALTHY", "✓"
	case probes.Degraded:
		return "degraded", "DEGRADED", "▲"
	case probes.Unavailable:
		return "unavailable", "UNAVAILABLE", "✕"
	}
	return "pending", "PENDING", "…"
}

// filters builds the controls from the places of all resources, whatever
// the filter keeps, so a reader can switch from one tenant to another. A
// value asked for that no resource has is offered too, so the control says
// what the page shows.
func filters(all []health.Snapshot, f filter) *filtersView {
	places := make([]probes.Place, len(all))
	placed := false
	for i, sn := range all {
		places[i] = sn.Place
		placed = placed || !sn.Place.IsZero()
	}
	if !placed && !f.active() {
		return nil
	}
	v := &filtersView{Total: len(all)}
	if f.active() {
		v.Active = f.String()
	}
	for _, k := range filterKeys {
		sel := selectView{Name: k, Label: strings.ToUpper(k[:1]) + k[1:],
			Options: []optionView{{Value: "", Text: "all " + k + "s"}}}
		want := f.value(k)
		values := placeValues(places, k)
		if want != "" && !slices.Contains(values, want) {
			sel.Options = append(sel.Options, optionView{Value: want, Text: want + " (no resources)", Selected: true})
		}
		for _, val := range values {
			sel.Options = append(sel.Options, optionView{Value: val, Text: val, Selected: val == want})
		}
		sel.Options[0].Selected = want == ""
		v.Selects = append(v.Selects, sel)
	}
	return v
}

func (d *pageData) build(all []health.Snapshot, f filter, lookup func(probes.Target) (Thresholds, bool), now time.Time) {
	d.Filters = filters(all, f)
	snaps := make([]health.Snapshot, 0, len(all))
	for _, sn := range all {
		if f.keeps(sn.Place) {
			snaps = append(snaps, sn)
		}
	}
	if d.Filters != nil {
		d.Filters.Shown = len(snaps)
	}
	slices.SortFunc(snaps, func(a, b health.Snapshot) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Resource, b.Resource),
			cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	counts := map[string]int{}
	for i, sn := range snaps {
		c := toCard(i, sn, lookup, now)
		counts[c.Class]++
		if n := len(d.Services); n == 0 || d.Services[n-1].Name != sn.Service {
			d.Services = append(d.Services, serviceView{Name: sn.Service, Title: probes.DisplayName(sn.Service)})
		}
		d.Services[len(d.Services)-1].Cards = append(d.Services[len(d.Services)-1].Cards, c)
		if sn.Status != probes.Healthy {
			d.Attention = append(d.Attention, c)
		}
	}
	slices.SortStableFunc(d.Attention, func(a, b *card) int {
		return cmp.Compare(statusRank(probes.Status(a.Class)), statusRank(probes.Status(b.Class)))
	})
	for _, st := range []probes.Status{probes.Unavailable, probes.Degraded, "", probes.Healthy} {
		class, label, _ := statusLabel(st)
		if n := counts[class]; n > 0 {
			d.Counts = append(d.Counts, countView{Class: class, Label: strings.ToLower(label), N: n})
		}
	}
	// The sentence names the filter, so counts that cover part of the
	// resources never read as the whole.
	in := ""
	if f.active() {
		in = " in " + f.String()
	}
	switch {
	case len(snaps) == 0 && f.active():
		d.Overall, d.Worst = "No resources match "+f.String()+".", "pending"
	case len(snaps) == 0:
		d.Overall, d.Worst = "No resources are configured.", "pending"
	case len(d.Attention) == 0:
		d.Overall, d.Worst = fmt.Sprintf("All %d resources%s are healthy.", len(snaps), in), "healthy"
	default:
		d.Worst = d.Attention[0].Class
		d.Overall = fmt.Sprintf("%d of %d resources%s need attention.", len(d.Attention), len(snaps), in)
	}
}

// placeText is where a tenant's pipeline's resource is, for a person.
func placeText(p probes.Place) string {
	if p.IsZero() {
		return ""
	}
	return "tenant " + p.Tenant + " · account " + p.Account + " · " + p.Region
}

func toCard(i int, sn health.Snapshot, lookup func(probes.Target) (Thresholds, bool), now time.Time) *card {
	c := &card{
		ID:          fmt.Sprintf("r%d-%s", i, anchor(sn.Service+"-"+sn.Resource)),
		Service:     sn.Service,
		ServiceName: probes.DisplayName(sn.Service),
		Resource:    sn.Resource,
		Place:       placeText(sn.Place),
		ErrorN:      sn.ErrorSamples,
		AvailN:      sn.AvailabilitySamples,
	}
	c.Class, c.Label, c.Symbol = statusLabel(sn.Status)
	if !sn.Since.IsZero() {
		c.Since = stamp(sn.Since, now)
		c.For = human(now.Sub(sn.Since))
	}
	if !sn.Last.Start.IsZero() {
		c.LastCheck = stamp(sn.Last.Start, now)
		c.LastRT = seconds(sn.Last.Duration)
		c.P95 = seconds(sn.P95)
		c.ErrorRatio = percent(sn.ErrorRatio)
		c.Avail = percent(sn.Availability)
	}
	if lookup != nil {
		if th, ok := lookup(sn.Target); ok {
			c.TH = &thView{
				ResponseTime: seconds(th.ResponseTime), ErrorRate: percent(th.ErrorRate), Availability: percent(th.Availability),
				ErrorWindow: human(th.ErrorWindow), AvailWindow: human(th.AvailabilityWindow), Schedule: th.Schedule,
			}
			c.ErrorNote = crossedNote("over", sn.ErrorSamples > 0 && sn.ErrorRatio > th.ErrorRate,
				sn.Conditions[health.KindError], sn.ErrorSamples, sn.ErrorMinSamples)
			c.AvailNote = crossedNote("below", sn.AvailabilitySamples > 0 && sn.Availability < th.Availability,
				sn.Conditions[health.KindUnavailable], sn.AvailabilitySamples, sn.AvailabilityMinSamples)
			c.SlowNote = crossedNote("over", th.ResponseTime > 0 && sn.P95 > th.ResponseTime,
				sn.Conditions[health.KindSlow], 1, 0)
		}
	}
	if f := sn.LastFailure; f != nil {
		c.Failure = &failView{Check: f.Check, Class: string(f.Class), Code: f.Code, RequestID: f.RequestID,
			Hint: f.Hint, Detail: f.Detail, At: stamp(f.Start, now)}
		c.FailureCurrent = f.Start.Equal(sn.Last.Start)
	}
	var nh, nd, nu int
	for _, p := range sn.History {
		class, label, _ := statusLabel(p.Status)
		c.History = append(c.History, pointView{Class: class,
			Title: fmt.Sprintf("%s %s %s", p.Start.UTC().Format("15:04:05"), label, seconds(p.Duration))})
		switch p.Status {
		case probes.Healthy:
			nh++
		case probes.Degraded:
			nd++
		case probes.Unavailable:
			nu++
		}
	}
	c.HistorySummary = fmt.Sprintf("Last %d results, oldest first: %d healthy, %d degraded, %d unavailable", len(sn.History), nh, nd, nu)
	return c
}

func toPanelView(p Panel, now time.Time) panelView {
	v := panelView{ID: anchor(p.ID), Title: p.Title}
	for _, it := range p.Items {
		iv := itemView{Name: it.Name, Resource: it.Resource, Place: placeText(it.Place), State: strings.ToUpper(it.State),
			Reason: it.Reason, Hint: it.Hint, Class: "bad", Symbol: "✕"}
		if it.OK {
			iv.Class, iv.Symbol = "good", "✓"
		}
		if !it.At.IsZero() {
			t := stamp(it.At, now)
			iv.At = &t
		}
		for _, k := range slices.Sorted(maps.Keys(it.Details)) {
			iv.Details = append(iv.Details, kv{k, it.Details[k]})
		}
		v.Items = append(v.Items, iv)
	}
	return v
}

func stamp(t, now time.Time) timeView {
	return timeView{ISO: t.UTC().Format(time.RFC3339), Text: t.UTC().Format("2006-01-02 15:04:05 UTC"), Ago: human(now.Sub(t)) + " ago"}
}

// human rounds a duration to what a person reads at a glance.
func human(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d >= time.Hour:
		d = d.Round(time.Minute) // seconds do not matter after an hour
	default:
		d = d.Round(time.Second)
	}
	// "1h0m0s" → "1h", "5m0s" → "5m", "2h3m0s" → "2h3m".
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func percent(r float64) string { return fmt.Sprintf("%.2f%%", r*100) }

// anchor makes an HTML id from any resource name (ARNs carry ':' and '/').
func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}
