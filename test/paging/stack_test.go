package paging

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

// scale compresses time: every duration of the shipped files (probe
// schedules, windows, thresholds, scrape and evaluation intervals, rule
// for, Alertmanager timers, even the rules' range selectors) is divided by
// it, so every timing relation stays what it is when shipped; only the
// calls' deadlines keep their length, since the SDK's retry backoffs inside
// them do not compress. 1 runs the shipped timings as they are.
var scale = flag.Float64("paging.scale", 10, "divide every shipped duration by this (1: the shipped timings)")

// stack is one run of the shipped pieces: the simulator, socmond, real
// Prometheus with the shipped rules and real Alertmanager with the shipped
// routing, whose receivers point at the test's webhook.
type stack struct {
	t      *testing.T
	k      float64
	direct bool // socmond pages Alertmanager itself (and Prometheus runs too)
	sim    *awssim.Sim
	hook   *hook
	cfg    *config.Config // the scaled config socmond runs
	socURL string         // the first replica's
	prom   string         // Prometheus base URL
	// Replicas of socmond share the config file and the simulator, elect
	// a leader through the DynamoDB lease in it, all page directly
	// (direct) and all are scraped; one incident must still be one page.
	replicas []*exec.Cmd
	socURLs  []string
	cfgPath  string
	cfgText  string
}

// leaseTable holds the replicas' leader-election lease, in the simulator.
const leaseTable = "socmond-leases"

// shipped is a duration of the shipped files as this run plays it.
func (s *stack) shipped(d time.Duration) time.Duration { return time.Duration(float64(d) / s.k) }

// startStack runs the stack on config.example.yaml, with evidence reports
// on (the test counts the writes).
func startStack(t *testing.T, direct bool) *stack {
	t.Helper()
	root := testenv.RepoRoot(t)
	return startStackWith(t, direct, func(amAddr string) string {
		edits := map[string]string{"    enabled: false         # the only S3 writes": "    enabled: true          # the only S3 writes"}
		if direct {
			edits["alerting:\n"] = fmt.Sprintf("alerting:\n  alertmanagers: [{url: \"http://%s\"}]\n", amAddr)
		}
		return replaceAll(t, read(t, root, "config.example.yaml"), edits)
	})
}

// startStackWith runs the stack on the config socmondConfig writes (at the
// shipped timings: the stack scales it), which on the direct path must
// page the Alertmanager at amAddr.
func startStackWith(t *testing.T, direct bool, socmondConfig func(amAddr string) string) *stack {
	t.Helper()
	s := &stack{t: t, k: *scale, direct: direct, hook: newHook()}
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	hookSrv := httptest.NewServer(s.hook)
	t.Cleanup(hookSrv.Close)

	amAddr := testenv.Addr(testenv.FreePort(t))
	promAddr := testenv.Addr(testenv.FreePort(t))
	// Two replicas on both paths, as the shipped Kubernetes Deployment
	// runs: both probe, both are scraped, both page on the direct path, and
	// one incident must still be one page (the rules merge replicas, and
	// Alertmanager deduplicates socmond's identical alerts).
	socAddrs := []string{testenv.Addr(testenv.FreePort(t)), testenv.Addr(testenv.FreePort(t))}
	for _, a := range socAddrs {
		s.socURLs = append(s.socURLs, "http://"+a)
	}
	s.socURL, s.prom = s.socURLs[0], "http://"+promAddr

	// Alertmanager: the shipped routing, receivers pointed at the webhook.
	am := replaceAll(t, read(t, root, "deploy/alertmanager/alertmanager.yml"), map[string]string{
		"http://pager-bridge.soc.svc:8080/alertmanager":  hookSrv.URL + "/pager",
		"http://ticket-bridge.soc.svc:8080/alertmanager": hookSrv.URL + "/tickets",
		"http://deadmansswitch.soc.svc:8080/ping":        hookSrv.URL + "/deadmansswitch",
		// The example's per-tenant routes (docs/alerting.md).
		"http://acme-pager-bridge.soc.svc:8080/alertmanager": hookSrv.URL + "/pager-acme",
		"http://beta-pager-bridge.soc.svc:8080/alertmanager": hookSrv.URL + "/pager-beta",
	})
	write(t, dir, "alertmanager.yml", scaleYAML(t, am, s.k))
	testenv.Start(t, amAddr, nil, testenv.Tool(t, "prometheus-alertmanager"), "--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "am"), "--web.listen-address="+amAddr, "--cluster.listen-address=")

	// Prometheus: the shipped scrape settings and rules.
	write(t, dir, "socmond-rules.yml", scaleYAML(t, read(t, root, "deploy/prometheus/socmond-rules.yml"), s.k))
	prom := replaceAll(t, read(t, root, "deploy/prometheus/prometheus.yml"), map[string]string{
		"'alertmanager:9093'": "'" + amAddr + "'",
		"'socmond:9815'":      "'" + strings.Join(socAddrs, "', '") + "'",
	})
	write(t, dir, "prometheus.yml", scaleYAML(t, prom, s.k))
	testenv.Start(t, promAddr, nil, testenv.Tool(t, "prometheus"), "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr,
		// Prometheus resends firing alerts every minute by default.
		"--rules.alert.resend-delay="+ms(s.shipped(time.Minute)))

	// socmond: the scenario's config, on the direct path with the
	// Alertmanager.
	cfgText := scaleYAML(t, socmondConfig(amAddr), s.k)
	cfgPath := write(t, dir, "socmond.yaml", cfgText)
	s.cfgPath, s.cfgText = cfgPath, cfgText
	t.Setenv("AWS_REGION", "us-east-1") // the example's ${AWS_REGION:-us-east-1}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("the scaled config: %v\n%s", err, cfgText)
	}
	s.cfg = cfg
	seed := simseed.FromConfig(cfg)
	seed.Tables = append(seed.Tables, leaseTable)
	seed.TableKeys = map[string]string{leaseTable: "lease"}
	for k, v := range simseed.FromConfig(cfg).TableKeys {
		seed.TableKeys[k] = v
	}
	var simURL string
	s.sim, simURL = awssim.Serve(t, seed)
	bin := testenv.BuildSocmond(t)
	for i, addr := range socAddrs {
		s.replicas = append(s.replicas, testenv.Start(t, addr, []string{"AWS_ENDPOINT_URL=" + simURL, "AWS_ACCESS_KEY_ID=AKIDPAGING", "AWS_SECRET_ACCESS_KEY=paging",
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"},
			bin, "run", "--config.file="+cfgPath, "--web.listen-address="+addr, "--log.level=info",
			"--leader-election.backend=dynamodb", "--leader-election.dynamodb.table="+leaseTable,
			fmt.Sprintf("--leader-election.identity=replica-%d", i),
			// The lease's 15s/10s/2s compressed like everything else.
			"--leader-election.lease-duration="+s.shipped(15*time.Second).String(),
			"--leader-election.renew-deadline="+s.shipped(10*time.Second).String(),
			"--leader-election.retry-period="+s.shipped(2*time.Second).String()))
	}
	s.waitArmed()
	return s
}

// waitArmed waits until every resource's error-rate window holds enough
// probes for its guard, in socmond and in Prometheus: before that, by
// design, nothing can page (docs/alerting.md, "Low-traffic guard").
func (s *stack) waitArmed() {
	s.t.Helper()
	n := len(s.cfg.Targets()) * len(s.replicas)
	deadline := time.Now().Add(2*s.shipped(10*time.Minute) + time.Minute)
	for {
		q := s.query("count(socmond_service_error_samples >= socmond_service_error_samples_min)")
		if q >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("Prometheus sees %v of %d resources with enough probes to page", q, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// query runs an instant PromQL query whose answer is one number (NaN when
// it has none).
func (s *stack) query(q string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.prom + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return math.NaN()
	}
	defer resp.Body.Close()
	var doc struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&doc) != nil || len(doc.Data.Result) == 0 {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(fmt.Sprint(doc.Data.Result[0].Value[1]), 64)
	return v
}

// status is one resource's entry in socmond's /api/v1/status.
func (s *stack) status(service, resource string) string {
	s.t.Helper()
	resp, err := http.Get(s.socURL + "/api/v1/status")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Data struct {
			Resources []struct {
				Service, Resource, Status string
			} `json:"resources"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		s.t.Fatal(err)
	}
	for _, r := range doc.Data.Resources {
		if r.Service == service && r.Resource == resource {
			return r.Status
		}
	}
	return "missing"
}

// hook is the webhook behind both receivers; it keeps every notification.
type hook struct {
	mu   sync.Mutex
	got  []notification
	wake chan struct{}
}

type notification struct {
	At          time.Time         `json:"-"`
	Receiver    string            `json:"-"` // pager or tickets: the URL path
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []alert           `json:"alerts"`
}

type alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func newHook() *hook { return &hook{wake: make(chan struct{}, 1)} }

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n notification
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.At, n.Receiver = time.Now(), strings.Trim(r.URL.Path, "/")
	h.mu.Lock()
	h.got = append(h.got, n)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// since returns the notifications received at or after t that match.
func (h *hook) since(t time.Time, match func(notification) bool) []notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []notification
	for _, n := range h.got {
		if !n.At.Before(t) && match(n) {
			out = append(out, n)
		}
	}
	return out
}

// wait returns the first matching notification at or after t, or false
// once limit has passed.
func (h *hook) wait(t time.Time, limit time.Duration, match func(notification) bool) (notification, bool) {
	deadline := time.After(limit)
	for {
		if got := h.since(t, match); len(got) > 0 {
			return got[0], true
		}
		select {
		case <-h.wake:
		case <-deadline:
			return notification{}, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// durationRe matches a scalar that is a duration: Go's form, which
// Prometheus and Alertmanager read too.
var (
	durationRe = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)
	rangeRe    = regexp.MustCompile(`\[([0-9]+)([smhdw])\]`)
)

// scaleYAML divides every duration in a YAML document by k: duration
// scalars, "@every D" schedules, and range selectors in expressions; not
// the calls' deadlines (timeout).
func scaleYAML(t *testing.T, text string, k float64) string {
	t.Helper()
	if k == 1 {
		return text
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			n.Value = scaleScalar(n.Value, k)
			return
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				// A call's deadline bounds real work — a call and the
				// SDK's own retries, whose backoff does not compress — so
				// it keeps its shipped length.
				if n.Content[i].Value != "timeout" {
					walk(n.Content[i+1])
				}
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func scaleScalar(v string, k float64) string {
	scaled := func(d time.Duration) string { return ms(time.Duration(float64(d) / k)) }
	if durationRe.MatchString(v) {
		if d, err := time.ParseDuration(v); err == nil {
			return scaled(d)
		}
	}
	if rest, ok := strings.CutPrefix(v, "@every "); ok {
		if d, err := time.ParseDuration(rest); err == nil {
			return "@every " + scaled(d)
		}
	}
	return rangeRe.ReplaceAllStringFunc(v, func(m string) string {
		p := rangeRe.FindStringSubmatch(m)
		n, _ := strconv.Atoi(p[1])
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[p[2]]
		return "[" + scaled(time.Duration(n)*unit) + "]"
	})
}

// ms writes a duration in milliseconds, a form Go, Prometheus and
// Alertmanager all read.
func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms" }

func read(t *testing.T, root, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceAll applies edits to a shipped file, failing if one no longer
// applies (the file changed under the test).
func replaceAll(t *testing.T, text string, edits map[string]string) string {
	t.Helper()
	for old, repl := range edits {
		if !strings.Contains(text, old) {
			t.Fatalf("shipped file has no %q to change", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	return text
}
