package server

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/socmond/socmond/internal/probes"
)

// With tenants' pipelines in several accounts and regions, on-call wants
// one tenant's, account's or region's resources, and a link to them to
// share. The status page and /api/v1/status take the same query
// parameters, tenant, account and region, and filter on the server, so the
// page needs no JavaScript to filter and any filtered view is a URL.

// filterKeys are the query parameters that filter, in the order the page
// shows their controls.
var filterKeys = [...]string{"tenant", "account", "region"}

// filter is the place a reader narrowed the status to; an empty field
// matches any value.
type filter struct{ probes.Place }

// parseFilter reads a filter from a raw query. Each key may be given once
// (empty is the same as absent: the page's form sends every key); a key
// given twice is an error rather than a guess at which one was meant, and
// so is a query that does not parse. Other parameters are ignored, as a
// cache-buster would be. A value no resource has is no error: it filters
// everything out.
func parseFilter(rawQuery string) (filter, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return filter{}, fmt.Errorf("the query does not parse: %w", err)
	}
	for _, k := range filterKeys {
		if n := len(q[k]); n > 1 {
			return filter{}, fmt.Errorf("the query parameter %s is given %d times; give it at most once", k, n)
		}
	}
	return filter{probes.Place{Tenant: q.Get("tenant"), Account: q.Get("account"), Region: q.Get("region")}}, nil
}

// value is the filter's value for a key of filterKeys.
func (f filter) value(key string) string {
	switch key {
	case "tenant":
		return f.Tenant
	case "account":
		return f.Account
	}
	return f.Region
}

func (f filter) active() bool { return !f.IsZero() }

// keeps reports whether a resource at p passes the filter. An unplaced
// resource has no tenant, account or region, so any filter drops it.
func (f filter) keeps(p probes.Place) bool {
	return (f.Tenant == "" || f.Tenant == p.Tenant) &&
		(f.Account == "" || f.Account == p.Account) &&
		(f.Region == "" || f.Region == p.Region)
}

// keepsItem is keeps for a panel's line: one that belongs to no pipeline
// (a check of the top-level pipeline, the leader) concerns every tenant,
// so it stays whatever the filter.
func (f filter) keepsItem(p probes.Place) bool { return p.IsZero() || f.keeps(p) }

// String says the filter for a person: "tenant acme, region ap-east-1".
func (f filter) String() string {
	var parts []string
	for _, k := range filterKeys {
		if v := f.value(k); v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// filterPanels drops the panels' placed lines the filter does not keep.
func filterPanels(panels []Panel, f filter) []Panel {
	if !f.active() {
		return panels
	}
	for i, p := range panels {
		items := make([]PanelItem, 0, len(p.Items))
		for _, it := range p.Items {
			if f.keepsItem(it.Place) {
				items = append(items, it)
			}
		}
		panels[i].Items = items
	}
	return panels
}

// placeValues are the distinct tenants, accounts or regions (key) of the
// places, sorted, for the page's controls.
func placeValues(places []probes.Place, key string) []string {
	var vs []string
	for _, p := range places {
		if v := (filter{p}).value(key); v != "" {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return slices.Compact(vs)
}
