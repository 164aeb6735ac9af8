package alerting

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// State is where an alert is in its life.
type State string

// States, in the order an alert moves through them. An inactive alert is
// not stored; a resolved one is reported once and then forgotten.
const (
	Inactive State = "inactive"
	Pending  State = "pending"
	Firing   State = "firing"
	Resolved State = "resolved"
)

// Signal is one evaluation of one alert's condition: a rule over a probe
// snapshot, a compliance finding, a workflow check. Labels identify the
// alert (alertname included); annotations describe its latest evaluation.
type Signal struct {
	Labels      map[string]string
	Annotations map[string]string
	Active      bool
	// For is how long the condition must hold before the alert fires
	// (0: at once). ClearFor is how long it must stay clear before a
	// firing alert resolves, so a flapping condition pages once.
	For, ClearFor time.Duration
}

// Alert is the state of one alert.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       State             `json:"state"`
	ActiveAt    time.Time         `json:"active_at"`             // when the condition became true
	FiredAt     time.Time         `json:"fired_at,omitzero"`     // when it started firing
	ResolvedAt  time.Time         `json:"resolved_at,omitzero"`  // when it resolved
	ClearSince  time.Time         `json:"clear_since,omitzero"`  // firing, but the condition has been clear since
	LastSentAt  time.Time         `json:"last_sent_at,omitzero"` // last notification queued

	forDur, clearFor time.Duration
	active           bool // the latest evaluation
}

// Name is the alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// Key identifies an alert by its sorted labels.
func Key(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}

// Machine holds every pending and firing alert. It is pure: no clock, no
// I/O, not safe for concurrent use (the Engine locks it).
type Machine struct {
	alerts map[string]*Alert
	// targets counts the stored alerts per service and resource label, so
	// that Tracks needs no walk over every alert.
	targets map[string]int
}

// NewMachine returns an empty Machine.
func NewMachine() *Machine {
	return &Machine{alerts: map[string]*Alert{}, targets: map[string]int{}}
}

// Tracks reports whether any pending or firing alert carries these
// service and resource labels.
func (m *Machine) Tracks(service, resource string) bool {
	return m.targets[targetKey(service, resource)] > 0
}

func targetKey(service, resource string) string { return service + "\x00" + resource }

func (m *Machine) store(key string, a *Alert) {
	m.alerts[key] = a
	m.targets[targetKey(a.Labels["service"], a.Labels["resource"])]++
}

func (m *Machine) forget(key string, a *Alert) {
	delete(m.alerts, key)
	tk := targetKey(a.Labels["service"], a.Labels["resource"])
	if m.targets[tk]--; m.targets[tk] <= 0 {
		delete(m.targets, tk)
	}
}

// Set applies one evaluation at now and returns the alert's state after it,
// and whether the state changed (a copy: the caller may keep it).
func (m *Machine) Set(s Signal, now time.Time) (Alert, bool) {
	key := Key(s.Labels)
	a, ok := m.alerts[key]
	if !ok {
		if !s.Active {
			return Alert{Labels: s.Labels, State: Inactive}, false
		}
		a = &Alert{Labels: s.Labels, State: Inactive}
		m.store(key, a)
	}
	a.Annotations = s.Annotations
	a.forDur, a.clearFor, a.active = s.For, s.ClearFor, s.Active
	before := a.State
	m.step(key, a, now)
	return a.copy(), a.State != before
}

// step moves one alert along from its latest evaluation.
func (m *Machine) step(key string, a *Alert, now time.Time) {
	switch a.State {
	case Inactive:
		if a.active {
			a.State, a.ActiveAt = Pending, now
			m.promote(a, now)
		}
	case Pending:
		if !a.active {
			// Never fired, so there is nothing to resolve: forget it.
			a.State = Inactive
			m.forget(key, a)
			return
		}
		m.promote(a, now)
	case Firing:
		if a.active {
			a.ClearSince = time.Time{}
			return
		}
		if a.ClearSince.IsZero() {
			a.ClearSince = now
		}
		if now.Sub(a.ClearSince) >= a.clearFor {
			a.State, a.ResolvedAt = Resolved, now
			m.forget(key, a)
		}
	}
}

func (m *Machine) promote(a *Alert, now time.Time) {
	if now.Sub(a.ActiveAt) >= a.forDur {
		a.State, a.FiredAt, a.ClearSince = Firing, now, time.Time{}
	}
}

// Tick advances time without a new evaluation: a pending alert whose
// condition still holds fires when its for has passed, a firing one whose
// condition is clear resolves after clear_for. It returns the alerts whose
// state changed.
func (m *Machine) Tick(now time.Time) []Alert {
	var out []Alert
	for key, a := range m.alerts {
		before := a.State
		m.step(key, a, now)
		if a.State != before {
			out = append(out, a.copy())
		}
	}
	return out
}

// Relabel gives every pending and firing alert the labels fn returns for
// it, or drops it when fn says it no longer applies. A firing alert that is
// dropped, or whose labels change, comes back in ended as Resolved under
// its old labels, for Alertmanager to hear that that alert is over; one
// whose labels change keeps its state under the new ones and comes back
// in moved (as firing, to be sent at once). A pending one was never sent,
// so it is moved or dropped silently. Where an alert already exists under
// the new labels, it stands and the old one ends, unless it is pending and
// the one moving in is firing.
func (m *Machine) Relabel(fn func(labels map[string]string) (map[string]string, bool), now time.Time) (ended, moved []Alert) {
	for key, a := range m.alerts {
		labels, keep := fn(maps.Clone(a.Labels))
		newKey := ""
		if keep {
			if newKey = Key(labels); newKey == key {
				continue
			}
		}
		m.forget(key, a)
		if a.State == Firing {
			end := a.copy()
			end.State, end.ResolvedAt = Resolved, now
			ended = append(ended, end)
		}
		if !keep {
			continue
		}
		if b, exists := m.alerts[newKey]; exists {
			// An evaluation under the new settings got there first. A
			// firing alert already there stands; a pending one gives way
			// to a firing one moving in, which has been true for longer.
			if b.State == Firing || a.State != Firing {
				continue
			}
			m.forget(newKey, b)
		}
		a.Labels = labels
		m.store(newKey, a)
		if a.State == Firing {
			moved = append(moved, a.copy())
		}
	}
	return ended, moved
}

// MarkSent records that a notification of the alert was queued at now.
func (m *Machine) MarkSent(labels map[string]string, now time.Time) {
	if a, ok := m.alerts[Key(labels)]; ok {
		a.LastSentAt = now
	}
}

// Alerts returns the pending and firing alerts, sorted by alertname, then
// labels.
func (m *Machine) Alerts() []Alert {
	out := make([]Alert, 0, len(m.alerts))
	for _, a := range m.alerts {
		out = append(out, a.copy())
	}
	slices.SortFunc(out, func(x, y Alert) int {
		if c := strings.Compare(x.Name(), y.Name()); c != 0 {
			return c
		}
		return strings.Compare(Key(x.Labels), Key(y.Labels))
	})
	return out
}

func (a *Alert) copy() Alert {
	c := *a
	c.Labels = maps.Clone(a.Labels)
	c.Annotations = maps.Clone(a.Annotations)
	return c
}
