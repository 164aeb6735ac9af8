package server

import (
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// A Panel is a titled group of checks that are not service probes —
// encryption compliance, the workflow and canary, the alerts firing — shown
// in /api/v1/status (data.panels) and on the status page. Each feature
// renders its own state into this neutral shape, so the server needs no
// knowledge of compliance rules or workflow steps.
type Panel struct {
	ID    string      `json:"id"`    // stable key: "compliance", "workflow", "alerts"
	Title string      `json:"title"` // for people: "Encryption compliance"
	Items []PanelItem `json:"items"`
}

// PanelItem is one line of a panel.
type PanelItem struct {
	Name     string `json:"name"`               // e.g. "kms_key_rotation"
	Resource string `json:"resource,omitempty"` // e.g. "alias/AsiaAgenticSoc"
	// Place is the tenant's pipeline the line is about, when it is one
	// (tenant, account and region keys); the page and API filter by it.
	// A line of no pipeline (zero Place) stays under any filter.
	probes.Place
	// State is the item's own word for its state: pass, fail,
	// not_applicable, firing, pending, healthy, …
	State string `json:"state"`
	// OK says whether the state is good; the page colours by it and always
	// prints State too, so nothing relies on colour alone.
	OK      bool              `json:"ok"`
	Reason  string            `json:"reason,omitempty"`
	Hint    string            `json:"hint,omitempty"`
	At      time.Time         `json:"at,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// PanelSource renders a panel at a given time. A Panel without an ID is
// left out: a feature a config reload switched off shows no panel.
type PanelSource func(now time.Time) Panel

func (s *Server) panels(now time.Time) []Panel {
	out := make([]Panel, 0, len(s.panelSources))
	for _, p := range s.panelSources {
		pn := p(now)
		if pn.ID == "" {
			continue
		}
		if pn.Items == nil {
			pn.Items = []PanelItem{}
		}
		out = append(out, pn)
	}
	return out
}
