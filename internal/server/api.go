package server

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// The API follows the envelope of Prometheus' HTTP API, so tools that
// already speak it can read socmond: {"status":"success","data":...} or
// {"status":"error","errorType":...,"error":...}. Its types are its own
// rather than health.Snapshot, so the wire format changes only on purpose,
// and durations are seconds (float) as everywhere in Prometheus.
type apiResponse struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

type statusData struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Filter is the tenant, account and region the query asked for
	// (filter.go); absent when it asked for everything.
	Filter    *probes.Place    `json:"filter,omitempty"`
	Resources []resourceStatus `json:"resources"`
	Panels    []Panel          `json:"panels"`
}

type resourceStatus struct {
	Service  string `json:"service"`
	Resource string `json:"resource"`
	// Tenant, Account and Region say where the resource is when the
	// config lists tenants' pipelines; absent otherwise.
	Tenant  string        `json:"tenant,omitempty"`
	Account string        `json:"account,omitempty"`
	Region  string        `json:"region,omitempty"`
	Status  probes.Status `json:"status"`
	// Since and LastCheck are absent until the resource has a result.
	Since                   *time.Time `json:"since,omitempty"`
	LastCheck               *time.Time `json:"last_check,omitempty"`
	LastResponseTimeSeconds float64    `json:"last_response_time_seconds"`
	// LastRequestID is AWS's request id of the latest check, failed or
	// not, to find it in CloudTrail or quote it to AWS Support.
	LastRequestID string  `json:"last_request_id,omitempty"`
	P95Seconds    float64 `json:"p95_seconds"`
	ErrorRatio    float64 `json:"error_ratio"`
	Availability  float64 `json:"availability"`
	// Samples is how many results the error ratio is computed from;
	// AvailabilitySamples the same for availability (its window differs).
	Samples             int `json:"samples"`
	AvailabilitySamples int `json:"availability_samples"`
	// SamplesMin and AvailabilitySamplesMin are the low-traffic guards the
	// windows must reach before their ratios can page.
	SamplesMin             int `json:"samples_min"`
	AvailabilitySamplesMin int `json:"availability_samples_min"`
	// Backlog is the items the resource held at its latest probe that the
	// pipeline could not deliver (a dead-letter queue's messages), for
	// resources whose probe reads one.
	Backlog *int64 `json:"backlog,omitempty"`
	// Conditions are the alert conditions as of the latest result
	// (docs/alerting.md), by rule: slow_response, high_error_rate,
	// low_availability, backlog.
	Conditions map[string]health.Condition `json:"conditions"`
	LastError  *lastError                  `json:"last_error,omitempty"`
}

// lastError is what on-call needs to act on the latest failure: its class,
// the AWS code and request id for a support case, and the hint.
type lastError struct {
	Class     probes.Class `json:"class"`
	Code      string       `json:"code,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Hint      string       `json:"hint,omitempty"`
	Detail    string       `json:"detail,omitempty"`
	At        time.Time    `json:"at"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.RawQuery)
	if err != nil {
		s.writeJSON(w, http.StatusBadRequest, apiResponse{Status: "error", ErrorType: "bad_data", Error: err.Error()})
		return
	}
	if s.source == nil {
		s.writeJSON(w, http.StatusServiceUnavailable, apiResponse{
			Status: "error", ErrorType: "unavailable", Error: "no health source configured",
		})
		return
	}
	now := s.now()
	snaps := s.source.Snapshots(now)
	data := statusData{GeneratedAt: now.UTC(), Resources: make([]resourceStatus, 0, len(snaps)), Panels: filterPanels(s.panels(now), f)}
	if f.active() {
		data.Filter = &f.Place
	}
	for _, sn := range snaps {
		if f.keeps(sn.Place) {
			data.Resources = append(data.Resources, toResourceStatus(sn))
		}
	}
	// A stable order keeps diffs and eyeballing easy whatever the source does.
	slices.SortFunc(data.Resources, func(a, b resourceStatus) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Resource, b.Resource),
			cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	s.writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: data})
}

func toResourceStatus(sn health.Snapshot) resourceStatus {
	rs := resourceStatus{
		Service:                 sn.Service,
		Resource:                sn.Resource,
		Tenant:                  sn.Tenant,
		Account:                 sn.Account,
		Region:                  sn.Region,
		Status:                  sn.Status,
		Since:                   timePtr(sn.Since),
		LastCheck:               timePtr(sn.Last.Start),
		LastResponseTimeSeconds: sn.Last.Duration.Seconds(),
		LastRequestID:           sn.Last.RequestID,
		P95Seconds:              sn.P95.Seconds(),
		ErrorRatio:              sn.ErrorRatio,
		Availability:            sn.Availability,
		Samples:                 sn.ErrorSamples,
		AvailabilitySamples:     sn.AvailabilitySamples,
		SamplesMin:              sn.ErrorMinSamples,
		AvailabilitySamplesMin:  sn.AvailabilityMinSamples,
		Backlog:                 sn.Last.Backlog,
		Conditions:              make(map[string]health.Condition, health.NumKinds),
	}
	for k := range health.NumKinds {
		rs.Conditions[k.String()] = sn.Conditions[k]
	}
	if f := sn.LastFailure; f != nil {
		rs.LastError = &lastError{
			Class:     f.Class,
			Code:      f.Code,
			RequestID: f.RequestID,
			Hint:      f.Hint,
			Detail:    f.Detail,
			At:        f.Start.UTC(),
		}
	}
	return rs
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The status line is gone already; all that is left is to say why
		// the client saw a truncated body (usually it went away).
		s.log.Debug().Err(err).Msg("writing API response")
	}
}
