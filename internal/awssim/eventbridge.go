package awssim

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// eventsService is EventBridge (awsJson 1.1): event buses, their rules and
// the events put on them.
var eventsService = &service{
	name: "eventbridge", aliases: []string{"events"}, signing: "events",
	target: "AWSEvents.", ops: eventsOps, resource: eventsResource,
	throttle: "ThrottlingException",
	statuses: map[string]int{
		"ResourceNotFoundException":       400,
		"AccessDeniedException":           400,
		"ThrottlingException":             400,
		"LimitExceededException":          400,
		"ValidationException":             400,
		"ConcurrentModificationException": 400,
		"InternalException":               500,
		"OperationDisabledException":      400,
	},
	protocol: awsJSON("1.1", nil),
	// A rule's State; DISABLED also stops delivery (delivery.go).
	states: []string{"ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"},
	canonical: func(sc *scope, name string) string {
		if _, rest, ok := strings.Cut(name, ":event-bus/"); ok {
			return rest
		}
		return name
	},
	seed: func(sc *scope, seed *Seed, names []string) any {
		ev := &eventsState{}
		ev.seed(sc, slices.Concat(seed.EventBuses, names), seed.Rules)
		return ev
	},
}

func (sc *scope) events() *eventsState { return sc.state["eventbridge"].(*eventsState) }

// eventsState holds EventBridge buses, rules and the events put on them.
// Matching events are delivered to the rules' state machine targets
// (delivery.go).
type eventsState struct {
	buses  map[string]*eventBus
	rules  map[string]*eventRule // by bus + "/" + rule name
	events []Event
}

type eventBus struct {
	name, arn string
	created   time.Time
}

type eventRule struct {
	Rule
	arn string
}

// Event is one event accepted by PutEvents.
type Event struct {
	ID         string
	Bus        string
	Source     string
	DetailType string
	Detail     string
	Resources  []string
	Time       time.Time
	// Account and Region are where the event was put.
	Account, Region string
}

func (ev *eventsState) seed(sc *scope, buses []string, rules []Rule) {
	ev.buses = map[string]*eventBus{}
	ev.rules = map[string]*eventRule{}
	add := func(name string) {
		if ev.buses[name] == nil {
			ev.buses[name] = &eventBus{name: name, arn: sc.arn("events", "event-bus/"+name), created: time.Now().Add(-24 * time.Hour)}
		}
	}
	add("default") // every account and region has the default bus
	for _, b := range buses {
		add(b)
	}
	for _, r := range rules {
		if r.EventBus == "" {
			r.EventBus = "default"
		}
		if r.State == "" {
			r.State = "ENABLED"
		}
		if r.EventPattern == "" {
			r.EventPattern = `{"source":["socmond.probe"]}`
		}
		add(r.EventBus)
		path := "rule/" + r.Name
		if r.EventBus != "default" {
			path = "rule/" + r.EventBus + "/" + r.Name
		}
		ev.rules[r.EventBus+"/"+r.Name] = &eventRule{Rule: r, arn: sc.arn("events", path)}
	}
}

// Events returns the events accepted by PutEvents: the default account's in
// its default region first, then each other account and region's, each in
// order.
func (s *Sim) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, sc := range s.order {
		out = append(out, sc.events().events...)
	}
	return out
}

var eventsOps = map[string]jsonOp{
	"DescribeEventBus":  eventsDescribeEventBus,
	"DescribeRule":      eventsDescribeRule,
	"ListTargetsByRule": eventsListTargetsByRule,
	"PutEvents":         eventsPutEvents,
}

func eventsResource(s *Sim, op string, in map[string]json.RawMessage) string {
	switch op {
	case "DescribeEventBus":
		if n := stringField(in, "Name"); n != "" {
			return n
		}
		return "default"
	case "DescribeRule":
		return stringField(in, "Name")
	case "ListTargetsByRule":
		return stringField(in, "Rule")
	case "PutEvents":
		var entries []struct{ EventBusName string }
		_ = json.Unmarshal(in["Entries"], &entries)
		if len(entries) > 0 && entries[0].EventBusName != "" {
			return entries[0].EventBusName
		}
		return "default"
	}
	return ""
}

// busName accepts a bus name or ARN; empty means the default bus.
func busName(n string) string {
	if _, rest, ok := strings.Cut(n, ":event-bus/"); ok {
		return rest
	}
	if n == "" {
		return "default"
	}
	return n
}

func (c *call) findBus(name string) (*eventBus, *apiError) {
	b := c.sc.events().buses[busName(name)]
	if b == nil {
		return nil, errorf("ResourceNotFoundException", "Event bus %s does not exist.", busName(name))
	}
	return b, nil
}

func eventsDescribeEventBus(c *call) (any, *apiError) {
	var in struct{ Name string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	b, e := c.findBus(in.Name)
	if e != nil {
		return nil, e
	}
	return map[string]any{"Name": b.name, "Arn": b.arn, "CreationTime": epoch(b.created), "LastModifiedTime": epoch(b.created)}, nil
}

func (c *call) findRule(name, bus string) (*eventRule, *apiError) {
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	b, e := c.findBus(bus)
	if e != nil {
		return nil, e
	}
	r := c.sc.events().rules[b.name+"/"+name]
	if r == nil {
		return nil, errorf("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, b.name)
	}
	return r, nil
}

func eventsDescribeRule(c *call) (any, *apiError) {
	var in struct{ Name, EventBusName string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	r, e := c.findRule(in.Name, in.EventBusName)
	if e != nil {
		return nil, e
	}
	state := r.State
	if c.state != "" {
		state = c.state
	}
	return map[string]any{"Name": r.Name, "Arn": r.arn, "EventPattern": r.EventPattern, "State": state,
		"EventBusName": r.EventBus, "CreatedBy": c.sc.account}, nil
}

func eventsListTargetsByRule(c *call) (any, *apiError) {
	var in struct{ Rule, EventBusName string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	r, e := c.findRule(in.Rule, in.EventBusName)
	if e != nil {
		return nil, e
	}
	targets := []map[string]any{}
	for i, arn := range r.Targets {
		t := map[string]any{"Id": "target-" + strconv.Itoa(i+1), "Arn": arn}
		if strings.Contains(arn, ":states:") {
			t["RoleArn"] = c.sc.iamARN("role/" + r.Name + "-invoke-sfn")
		}
		if r.DeadLetter != "" {
			t["DeadLetterConfig"] = map[string]string{"Arn": r.DeadLetter}
		}
		targets = append(targets, t)
	}
	return map[string]any{"Targets": targets}, nil
}

func eventsPutEvents(c *call) (any, *apiError) {
	var in struct {
		Entries []struct {
			EventBusName string
			Source       string
			DetailType   string
			Detail       string
			Resources    []string
			Time         *float64
		}
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if n := len(in.Entries); n < 1 || n > 10 {
		return nil, validation("1 validation error detected: Value '%d' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1", n)
	}
	if len(c.body) > 1<<20 {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}
	failed := 0
	results := make([]map[string]string, 0, len(in.Entries))
	for _, en := range in.Entries {
		fail := func(code, msg string) {
			failed++
			results = append(results, map[string]string{"ErrorCode": code, "ErrorMessage": msg})
		}
		var detail map[string]any
		switch {
		case en.Source == "":
			fail("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
			continue
		case en.DetailType == "":
			fail("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
			continue
		case en.Detail == "":
			fail("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.")
			continue
		case json.Unmarshal([]byte(en.Detail), &detail) != nil:
			fail("MalformedDetail", "Detail is malformed.")
			continue
		}
		b, e := c.findBus(en.EventBusName)
		if e != nil {
			fail(e.Code, e.Message)
			continue
		}
		t := time.Now()
		if en.Time != nil {
			t = time.UnixMilli(int64(*en.Time * 1000))
		}
		ev := Event{ID: newUUID(), Bus: b.name, Source: en.Source, DetailType: en.DetailType, Detail: en.Detail, Resources: en.Resources, Time: t,
			Account: c.sc.account, Region: c.sc.region}
		c.sc.events().events = append(c.sc.events().events, ev)
		c.sim.deliver(c.sc, ev)
		results = append(results, map[string]string{"EventId": ev.ID})
	}
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}
