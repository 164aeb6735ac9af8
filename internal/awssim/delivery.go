package awssim

import (
	"encoding/json"
	"strings"
	"time"
)

// deliver hands ev to every rule on its bus whose pattern matches, the way
// EventBridge does: asynchronously, after PutEvents has answered. A rule
// that is DISABLED (seeded, or through an eventbridge fault with state
// DISABLED on the rule's name) delivers nothing. The rules and targets are
// those of sc, the account and region the event was put in. It is called
// under s.mu.
func (s *Sim) deliver(sc *scope, ev Event) {
	var rules []*eventRule
	for _, r := range sc.events().rules {
		if r.EventBus == ev.Bus && patternMatches(r.EventPattern, ev) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return
	}
	envelope, _ := json.Marshal(map[string]any{
		"version": "0", "id": ev.ID, "detail-type": ev.DetailType, "source": ev.Source,
		"account": sc.account, "time": ev.Time.UTC().Format(time.RFC3339), "region": sc.region,
		"resources": nonNil(ev.Resources), "detail": json.RawMessage(ev.Detail),
	})
	go func() {
		for _, r := range rules {
			state := r.State
			if f := s.takeFaults(sc, "eventbridge", "", r.Name); f.state != "" {
				state = f.state
			}
			if state == "DISABLED" {
				continue
			}
			for _, target := range r.Targets {
				s.startExecution(sc, target, string(envelope))
			}
		}
	}()
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// startExecution starts an execution of a state machine of sc as a rule
// target does (generated name).
func (s *Sim) startExecution(sc *scope, machineARN, input string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := sc.sfn().machines[machineARN]
	if m == nil {
		return // a target pointing at a missing state machine: EventBridge drops the event
	}
	name := newUUID()
	arn := strings.Replace(m.arn, ":stateMachine:", ":execution:", 1) + ":" + name
	x := &execution{arn: arn, machineARN: m.arn, name: name, status: "RUNNING", input: input, start: time.Now()}
	sc.sfn().executions[arn] = x
	sc.sfn().byMachine[m.arn] = append(sc.sfn().byMachine[m.arn], x)
	s.runExecution(sc, m, x)
}

// patternMatches implements the part of EventBridge's pattern language the
// SOC pipeline uses: objects nest, and a field matches when its value is one
// of the listed values (or, for {"prefix": "..."}, starts with it).
func patternMatches(pattern string, ev Event) bool {
	var p map[string]any
	if json.Unmarshal([]byte(pattern), &p) != nil {
		return false
	}
	var detail any
	_ = json.Unmarshal([]byte(ev.Detail), &detail)
	event := map[string]any{"source": ev.Source, "detail-type": ev.DetailType, "detail": detail, "resources": ev.Resources}
	return matchObject(p, event)
}

func matchObject(p map[string]any, v any) bool {
	obj, _ := v.(map[string]any)
	for k, want := range p {
		got := obj[k]
		switch w := want.(type) {
		case map[string]any:
			if !matchObject(w, got) {
				return false
			}
		case []any:
			if !matchAny(w, got) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func matchAny(allowed []any, got any) bool {
	values := []any{got}
	if list, ok := got.([]any); ok {
		values = list
	}
	if list, ok := got.([]string); ok {
		values = values[:0]
		for _, s := range list {
			values = append(values, s)
		}
	}
	for _, a := range allowed {
		for _, v := range values {
			if m, ok := a.(map[string]any); ok {
				if pre, ok := m["prefix"].(string); ok {
					if s, ok := v.(string); ok && strings.HasPrefix(s, pre) {
						return true
					}
				}
				continue
			}
			if a == v {
				return true
			}
		}
	}
	return false
}
