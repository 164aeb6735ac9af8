package soak

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/socmond/socmond/internal/awssim"
)

// resource is one probed resource of the soak config.
type resource struct{ service, name string }

type resources struct{ all []resource }

// newResources lists 204 resources over four services.
func newResources() *resources {
	r := &resources{}
	for i := range 120 {
		r.all = append(r.all, resource{"dynamodb", fmt.Sprintf("soak-table-%03d", i)})
	}
	for i := range 50 {
		r.all = append(r.all, resource{"lambda", fmt.Sprintf("soak-fn-%03d", i)})
	}
	for i := range 30 {
		r.all = append(r.all, resource{"s3", fmt.Sprintf("soak-bucket-%03d", i)})
	}
	for i := range 4 {
		r.all = append(r.all, resource{"kms", fmt.Sprintf("alias/soak-key-%d", i)})
	}
	return r
}

func (r *resources) seed() awssim.Seed {
	var s awssim.Seed
	for _, x := range r.all {
		switch x.service {
		case "dynamodb":
			s.Tables = append(s.Tables, x.name)
		case "lambda":
			s.Functions = append(s.Functions, x.name)
		case "s3":
			s.Buckets = append(s.Buckets, x.name)
		case "kms":
			s.Keys = append(s.Keys, x.name)
		}
	}
	return s
}

// config probes every resource every 2 s with a 1 s deadline and pages
// the Alertmanager at amAddr. An alert stays firing for clear_for after its
// condition clears, longer than Alertmanager is down and than the
// notifier's backoff, so an episode cannot fire and resolve unseen.
func (r *resources) config(amAddr string) string {
	var b strings.Builder
	b.WriteString("region: us-east-1\ndefaults:\n  schedule: \"@every 2s\"\n  timeout: 1s\n  thresholds:\n    response_time: 900ms\n")
	fmt.Fprintf(&b, "alerting:\n  alertmanagers: [{url: \"http://%s\", timeout: 5s}]\n  resend_interval: 10s\n  min_sample_ratio: 0.05\n  queue_capacity: 5000\n", amAddr)
	b.WriteString("  rules:\n    slow_response: {clear_for: 40s}\n    high_error_rate: {clear_for: 40s}\n    low_availability: {clear_for: 40s}\n")
	b.WriteString("services:\n")
	last := ""
	for _, x := range r.all {
		if x.service != last {
			fmt.Fprintf(&b, "  %s:\n    resources:\n", x.service)
			last = x.service
		}
		fmt.Fprintf(&b, "      - name: %q\n", x.name)
	}
	return b.String()
}

// kind is one fault of the schedule and what socmond must report for it.
type kind struct {
	name   string
	fault  func(service string) awssim.Fault // Resource filled in by plan
	truth  string                            // Call.Fault the simulator records
	status string
	class  string
	// headClass is the class for S3, whose HeadBucket answer has no body:
	// a cut there cuts the headers, before any response (network).
	headClass string
	noHead    bool // the fault means nothing without a body (S3 skipped)
}

// want is the status and class socmond must report for k on res.
func (k kind) want(res resource) (string, string) {
	if res.service == "s3" && k.headClass != "" {
		return k.status, k.headClass
	}
	return k.status, k.class
}

// errorCodes are each service's own codes for a throttle and a 5xx.
var errorCodes = map[string][2]string{
	"dynamodb": {"ThrottlingException", "InternalServerError"},
	"lambda":   {"TooManyRequestsException", "ServiceException"},
	"s3":       {"SlowDown", "InternalError"},
	"kms":      {"ThrottlingException", "KMSInternalException"},
}

func chaos(name, status, class string) kind {
	return kind{name: name, truth: "chaos:" + name, status: status, class: class,
		fault: func(svc string) awssim.Fault { return awssim.Fault{Service: svc, Chaos: name} }}
}

var kinds = []kind{
	{name: "latency", truth: "latency:3s", status: "unavailable", class: "timeout",
		fault: func(svc string) awssim.Fault { return awssim.Fault{Service: svc, Latency: "3s"} }},
	{name: "throttle", status: "degraded", class: "throttled",
		fault: func(svc string) awssim.Fault { return awssim.Fault{Service: svc, Error: errorCodes[svc][0]} }},
	{name: "5xx", status: "unavailable", class: "server",
		fault: func(svc string) awssim.Fault { return awssim.Fault{Service: svc, Error: errorCodes[svc][1]} }},
	// A 200 the SDK cannot decode is the service answering wrongly: server.
	// So is a body cut short, whether by a reset or a clean close: the SDK
	// reports both as a failed deserialization of a 200.
	{name: "malformed", truth: "malformed", status: "unavailable", class: "server",
		fault: func(svc string) awssim.Fault { return awssim.Fault{Service: svc, Malformed: true} }},
	withHead(chaos(awssim.ChaosReset, "unavailable", "server"), "network"),
	withHead(chaos(awssim.ChaosTruncate, "unavailable", "server"), "network"),
	noHead(chaos(awssim.ChaosNonJSON, "unavailable", "server")),
	chaos(awssim.ChaosTrickle, "unavailable", "timeout"),
	chaos(awssim.ChaosRefuse, "unavailable", "network"),
}

func withHead(k kind, class string) kind { k.headClass = class; return k }
func noHead(k kind) kind                 { k.noHead = true; return k }

// planned is one fault on one resource for one phase.
type planned struct {
	kind  kind
	res   resource
	fault awssim.Fault
	truth string
}

// plan picks, for every fault kind, three distinct random resources.
func (r *resources) plan(rng *rand.Rand) []planned {
	perm := rng.Perm(len(r.all))
	var out []planned
	i := 0
	for _, k := range kinds {
		for n := 0; n < 3; {
			res := r.all[perm[i]]
			i++
			if k.noHead && res.service == "s3" {
				continue
			}
			n++
			f := k.fault(res.service)
			f.Resource = res.name
			truth := k.truth
			if truth == "" {
				truth = "error:" + f.Error
			}
			out = append(out, planned{kind: k, res: res, fault: f, truth: truth})
		}
	}
	return out
}
