package awssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault changes how the simulator answers matching requests.
type Fault struct {
	Service   string `json:"service"`             // a service's name or alias (service.go: kms, dynamodb, s3, ...; sfn, events, ...), or pipeline
	Resource  string `json:"resource,omitempty"`  // empty = whole service
	Operation string `json:"operation,omitempty"` // empty = every operation; else only this one (e.g. GetBucketEncryption)
	Latency   string `json:"latency,omitempty"`   // Go duration to wait before responding ("6s")
	Error     string `json:"error,omitempty"`     // AWS error code, answered with that service's status and body shape
	State     string `json:"state,omitempty"`     // resource state override (TableStatus, KeyState, Lambda State, SFN status, model lifecycle, rule State)
	Malformed bool   `json:"malformed,omitempty"` // 200 whose body (or header) the SDK cannot decode
	Count     int    `json:"count,omitempty"`     // >0: applies to this many matching requests, then expires
	// Chaos breaks the transport instead of the answer: reset, truncate,
	// nonjson, trickle or refuse (chaos.go).
	Chaos string `json:"chaos,omitempty"`
	// Set overrides resource settings while the fault is active (kms, dynamodb,
	// s3; see overrides.go), e.g. {"KeyRotationEnabled":"false"}.
	Set map[string]string `json:"set,omitempty"`
	// Account and Region narrow the fault to the calls served in that
	// account (12 digits) or region (one the simulator serves): a region's
	// outage while the others answer. Empty means every account or region.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
}

type activeFault struct {
	Fault
	latency time.Duration
}

// faultTarget finds what a fault's Service names: a service, by name or
// alias, or the pipeline's writes.
func (s *Sim) faultTarget(name string) *service {
	if svc := s.service(name); svc != nil {
		return svc
	}
	return lookupService([]*service{pipelineFaults}, name)
}

// normaliseFault checks f and returns it with its service name normalised.
func (s *Sim) normaliseFault(f Fault) (activeFault, error) {
	target := s.faultTarget(f.Service)
	if target == nil {
		return activeFault{}, fmt.Errorf("unknown service %q (want %s)", f.Service, serviceNames(s.services, nil, "or"))
	}
	svc := target.name
	f.Service = svc
	a := activeFault{Fault: f}
	if f.Latency != "" {
		d, err := time.ParseDuration(f.Latency)
		if err != nil || d < 0 {
			return activeFault{}, fmt.Errorf("bad latency %q: want a non-negative Go duration such as \"250ms\" or \"6s\"", f.Latency)
		}
		a.latency = d
	}
	if f.State != "" {
		states := target.states
		if len(states) == 0 {
			return activeFault{}, fmt.Errorf("service %s has no state to override", svc)
		}
		if !slices.Contains(states, f.State) {
			return activeFault{}, fmt.Errorf("state %q is not a %s state (want one of %s)", f.State, svc, strings.Join(states, ", "))
		}
	}
	if len(f.Set) > 0 {
		if err := s.validateSet(target, f.Set); err != nil {
			return activeFault{}, err
		}
		if f.Error != "" || f.Malformed {
			return activeFault{}, fmt.Errorf("set cannot be combined with error or malformed")
		}
	}
	if f.Chaos != "" {
		if !slices.Contains(chaosKinds, f.Chaos) {
			return activeFault{}, fmt.Errorf("unknown chaos %q (want one of %s)", f.Chaos, strings.Join(chaosKinds, ", "))
		}
		if f.Error != "" || f.Malformed || f.State != "" || len(f.Set) > 0 {
			return activeFault{}, fmt.Errorf("chaos cannot be combined with error, malformed, state or set")
		}
	}
	if f.Error != "" && (f.Malformed || f.State != "") {
		return activeFault{}, fmt.Errorf("error cannot be combined with malformed or state")
	}
	if f.Malformed && f.State != "" {
		return activeFault{}, fmt.Errorf("malformed cannot be combined with state")
	}
	if f.Account != "" && !accountRe.MatchString(f.Account) {
		return activeFault{}, fmt.Errorf("bad account %q: want 12 digits", f.Account)
	}
	if f.Region != "" && !slices.Contains(s.regions, f.Region) {
		return activeFault{}, fmt.Errorf("region %q is not served (have %s)", f.Region, strings.Join(s.regions, ", "))
	}
	if f.Count < 0 {
		return activeFault{}, fmt.Errorf("count must be >= 0, got %d", f.Count)
	}
	if f.Latency == "" && f.Error == "" && f.State == "" && !f.Malformed && len(f.Set) == 0 && f.Chaos == "" {
		return activeFault{}, fmt.Errorf("fault does nothing: set latency, error, state, malformed, set or chaos")
	}
	return a, nil
}

// AddFault installs f. An invalid fault is a programming error in the caller
// and panics with the reason; the control API reports the same reasons as 400.
func (s *Sim) AddFault(f Fault) {
	// The simulator reads its faults from its serving goroutines; a caller
	// that changes its map afterwards (a test building up settings step by
	// step) must not change them under those reads.
	f.Set = maps.Clone(f.Set)
	a, err := s.normaliseFault(f)
	if err != nil {
		panic("awssim: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, a)
}

// ClearFaults removes all faults.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults lists the active faults; Count is what remains of a counted fault.
func (s *Sim) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		c := f.Fault
		c.Set = maps.Clone(c.Set)
		out = append(out, c)
	}
	return out
}

// effect is what the matching faults do to one request.
type effect struct {
	latency   time.Duration
	err       string
	state     string
	malformed bool
	chaos     string
	set       map[string]string // merged Set of every matching fault
}

// describe is the ground truth recorded in Call.Fault: which fault shaped the
// answer ("error:ThrottlingException", "chaos:reset", "malformed",
// "state:DISABLED", "latency:6s"), empty when none did.
func (e effect) describe() string {
	var d string
	switch {
	case e.err != "":
		d = "error:" + e.err
	case e.chaos != "":
		d = "chaos:" + e.chaos
	case e.malformed:
		d = "malformed"
	case e.state != "":
		d = "state:" + e.state
	case len(e.set) > 0:
		d = "set"
	}
	if e.latency > 0 {
		if d != "" {
			d += "+"
		}
		d += "latency:" + e.latency.String()
	}
	return d
}

// takeFaults applies every fault matching the request served in sc (op is
// its AWS operation, "" for the simulator's own deliveries), in the order
// they were added: latencies add up, the first error/state/malformed wins.
// Counted faults are used up here.
func (s *Sim) takeFaults(sc *scope, service, op, resource string) effect {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e effect
	kept := s.faults[:0]
	for _, f := range s.faults {
		if f.Service != service || (f.Operation != "" && f.Operation != op) ||
			(f.Account != "" && f.Account != sc.account) || (f.Region != "" && f.Region != sc.region) ||
			(f.Resource != "" && s.canonical(sc, service, f.Resource) != s.canonical(sc, service, resource)) {
			kept = append(kept, f)
			continue
		}
		e.latency += f.latency
		e.set = mergeSet(e.set, f.Set)
		if e.err == "" && e.state == "" && !e.malformed && e.chaos == "" {
			e.err, e.state, e.malformed, e.chaos = f.Error, f.State, f.Malformed, f.Chaos
		}
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				continue
			}
		}
		kept = append(kept, f)
	}
	s.faults = kept
	return e
}

// canonical reduces the different names of one resource (alias, key id, ARN)
// to one string so a fault matches however the request names the resource
// in sc.
func (s *Sim) canonical(sc *scope, service, name string) string {
	if svc := s.faultTarget(service); svc != nil && svc.canonical != nil {
		return svc.canonical(sc, name)
	}
	return name
}

// writeMalformed answers 200 with something the SDK cannot decode for the
// call's protocol.
func writeMalformed(c *call) {
	c.svc.protocol.writeMalformed(c)
}

// maxControlBody bounds a fault posted to the control API; a real one is a
// few hundred bytes.
const maxControlBody = 64 << 10

// serveControl is the /_sim/ JSON API used by tests and `socmond demo`.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodGet:
		writeControl(w, http.StatusOK, s.Faults())
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sim/faults" && r.Method == http.MethodPost:
		f, err := decodeFault(http.MaxBytesReader(w, r.Body, maxControlBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeControl(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("fault body over %d bytes", maxControlBody)})
			return
		}
		if err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		a, err := s.normaliseFault(f)
		if err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.mu.Lock()
		s.faults = append(s.faults, a)
		s.mu.Unlock()
		writeControl(w, http.StatusCreated, a.Fault)
	case r.URL.Path == "/_sim/calls" && r.Method == http.MethodGet:
		writeControl(w, http.StatusOK, s.Calls())
	case r.URL.Path == "/_sim/calls" && r.Method == http.MethodDelete:
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_sim/faults" || r.URL.Path == "/_sim/calls":
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeControl(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed on " + r.URL.Path})
	default:
		writeControl(w, http.StatusNotFound, map[string]string{"error": "no control endpoint " + r.URL.Path + " (have /_sim/faults, /_sim/calls)"})
	}
}

func decodeFault(body io.Reader) (Fault, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return Fault{}, fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fault
	if err := dec.Decode(&f); err != nil {
		return Fault{}, fmt.Errorf("decode fault: %w", err)
	}
	if dec.More() {
		return Fault{}, fmt.Errorf("decode fault: body holds more than one JSON value")
	}
	return f, nil
}

func writeControl(w http.ResponseWriter, status int, v any) {
	body, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
