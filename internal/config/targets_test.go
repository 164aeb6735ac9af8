package config

import (
	"os"
	"reflect"
	"testing"
	"time"
)

// builtin is the target every setting of which comes from the built-in
// defaults; cases below change only what they override.
func builtin(service, resource string) Target {
	return conditions(Target{
		Service: service, Resource: resource,
		Schedule:              DefaultSchedule,
		Timeout:               DefaultTimeout,
		ResponseTimeThreshold: DefaultResponseTimeThreshold,
		ErrorRateThreshold:    DefaultErrorRateThreshold,
		AvailabilityThreshold: DefaultAvailabilityThreshold,
		ErrorRateWindow:       DefaultErrorRateWindow,
		AvailabilityWindow:    DefaultAvailabilityWindow,
	})
}

// with changes a target and works out its conditions' settings again.
func with(t Target, f func(*Target)) Target { f(&t); return conditions(t) }

// conditions fills in the alert conditions' built-in settings as
// docs/alerting.md states them: guards of half the results each window
// should hold on the schedule (rounded up), clear_for 1.5 intervals.
func conditions(t Target) Target {
	iv := Interval(t.Schedule)
	half := func(w time.Duration) int { return int((w + 2*iv - 1) / (2 * iv)) }
	t.ErrorMinSamples, t.AvailabilityMinSamples = half(t.ErrorRateWindow), half(t.AvailabilityWindow)
	t.SlowClearFor, t.ErrorClearFor, t.AvailabilityClearFor, t.BacklogClearFor = iv*3/2, iv*3/2, iv*3/2, iv*3/2
	return t
}

func TestConditionSettings(t *testing.T) {
	c, err := Parse("config.yaml", []byte(`
defaults:
  windows: {error_rate: 10m}
alerting:
  min_sample_ratio: 0.3
  rules:
    low_availability: {clear_for: 2m}
    backlog: {clear_for: 3m}
  services:
    s3:
      high_error_rate: {clear_for: 5s}
services:
  s3:
    resources: [{name: b, schedule: "@every 1m"}, {name: c, schedule: "@every 4m"}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Targets()
	// @every 1m: 10m holds 10 results, 30 % is 3; 1h holds 60, 30 % is 18.
	if g := got[0]; g.ErrorMinSamples != 3 || g.AvailabilityMinSamples != 18 ||
		g.SlowClearFor != 90*time.Second || g.ErrorClearFor != 5*time.Second || g.AvailabilityClearFor != 2*time.Minute || g.BacklogClearFor != 3*time.Minute {
		t.Errorf("b: %+v", g)
	}
	// @every 4m: 10m holds 2.5 results, 30 % rounds up to 1; 1h: 15 → 5.
	if g := got[1]; g.ErrorMinSamples != 1 || g.AvailabilityMinSamples != 5 {
		t.Errorf("c: %+v", g)
	}
}

func TestTargetsResolution(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want []Target
	}{
		"built-in defaults": {
			yaml: "services:\n  kms:\n    resources: [{name: alias/k}]\n",
			want: []Target{builtin("kms", "alias/k")},
		},
		"defaults section overrides built-ins": {
			yaml: `
defaults:
  schedule: "@every 1m"
  timeout: 3s
  thresholds: {response_time: 2s, error_rate: 0, availability: 0.9}
  windows: {error_rate: 10m, availability: 24h}
services:
  kms:
    resources: [{name: k}]
`,
			want: []Target{with(builtin("kms", "k"), func(t *Target) {
				t.Schedule, t.Timeout, t.ResponseTimeThreshold = "@every 1m", 3*time.Second, 2*time.Second
				t.ErrorRateThreshold, t.AvailabilityThreshold = 0, 0.9
				t.ErrorRateWindow, t.AvailabilityWindow = 10*time.Minute, 24*time.Hour
			})},
		},
		"service overrides defaults, resource overrides service": {
			yaml: `
defaults:
  schedule: "@every 1m"
  timeout: 3s
  thresholds: {error_rate: 0.2}
services:
  dynamodb:
    schedule: "@every 2m"
    timeout: 4s
    thresholds: {error_rate: 0.3, availability: 0.5}
    windows: {error_rate: 10m, availability: 2h}
    resources:
      - name: inherits-service
      - name: own-schedule
        schedule: "0 */5 * * * *"
      - name: own-timeout
        timeout: 9s
  s3:
    resources: [{name: inherits-defaults}]
`,
			want: []Target{
				with(builtin("dynamodb", "inherits-service"), func(t *Target) {
					t.Schedule, t.Timeout, t.ErrorRateThreshold, t.AvailabilityThreshold = "@every 2m", 4*time.Second, 0.3, 0.5
					t.ErrorRateWindow, t.AvailabilityWindow = 10*time.Minute, 2*time.Hour
				}),
				with(builtin("dynamodb", "own-schedule"), func(t *Target) {
					t.Schedule, t.Timeout, t.ErrorRateThreshold, t.AvailabilityThreshold = "0 */5 * * * *", 4*time.Second, 0.3, 0.5
					t.ErrorRateWindow, t.AvailabilityWindow = 10*time.Minute, 2*time.Hour
				}),
				with(builtin("dynamodb", "own-timeout"), func(t *Target) {
					t.Schedule, t.Timeout, t.ErrorRateThreshold, t.AvailabilityThreshold = "@every 2m", 9*time.Second, 0.3, 0.5
					t.ErrorRateWindow, t.AvailabilityWindow = 10*time.Minute, 2*time.Hour
				}),
				with(builtin("s3", "inherits-defaults"), func(t *Target) {
					t.Schedule, t.Timeout, t.ErrorRateThreshold = "@every 1m", 3*time.Second, 0.2
				}),
			},
		},
		"service order is fixed, resource order is file order": {
			yaml: `
services:
  lambda:
    resources: [{name: z-fn}, {name: a-fn}]
  stepfunctions:
    resources: [{name: "arn:aws:states:us-east-1:1:stateMachine:sm"}]
  eventbridge:
    resources: [{name: bus}]
  kms:
    resources: [{name: key}]
  s3:
    resources: [{name: bucket}]
  dynamodb:
    resources: [{name: table}]
  bedrock:
    resources: [{name: model}]
`,
			want: []Target{
				builtin("bedrock", "model"), builtin("dynamodb", "table"), builtin("s3", "bucket"),
				builtin("kms", "key"), builtin("eventbridge", "bus"),
				builtin("stepfunctions", "arn:aws:states:us-east-1:1:stateMachine:sm"),
				builtin("lambda", "z-fn"), builtin("lambda", "a-fn"),
			},
		},
		"disabled service is skipped": {
			yaml: "services:\n  kms:\n    enabled: false\n    resources: [{name: k}]\n  s3:\n    resources: [{name: b}]\n",
			want: []Target{builtin("s3", "b")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Targets(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Targets():\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// Other packages build Configs by hand in their tests; Targets must apply
// built-in defaults without Load having run.
func TestTargetsOnHandBuiltConfig(t *testing.T) {
	var c Config
	c.Services.Ensure("s3").Resources = []Resource{{Name: "b"}}
	want := []Target{builtin("s3", "b")}
	if got := c.Targets(); !reflect.DeepEqual(got, want) {
		t.Errorf("Targets() = %+v, want %+v", got, want)
	}
}

func TestRuntimeTargets(t *testing.T) {
	tests := map[string]struct {
		yaml       string
		wantModels []string
		wantSched  string
		wantTokens int
	}{
		"off by default": {
			yaml: "services:\n  bedrock:\n    resources: [{name: m1}]\n",
		},
		"enabled with defaults": {
			yaml:       "services:\n  bedrock:\n    runtime: {enabled: true}\n    resources: [{name: m1}, {name: m2}]\n",
			wantModels: []string{"m1", "m2"}, wantSched: DefaultRuntimeSchedule, wantTokens: 1,
		},
		"own schedule and tokens": {
			yaml:       "services:\n  bedrock:\n    runtime: {enabled: true, schedule: \"@hourly\", max_tokens: 4}\n    resources: [{name: m1}]\n",
			wantModels: []string{"m1"}, wantSched: "@hourly", wantTokens: 4,
		},
		"bedrock disabled": {
			yaml: "services:\n  bedrock:\n    enabled: false\n    runtime: {enabled: true}\n    resources: [{name: m1}]\n  s3:\n    resources: [{name: b}]\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := c.RuntimeTargets()
			var models []string
			for _, tg := range got {
				models = append(models, tg.Resource)
				wantEqual(t, "service", tg.Service, "bedrock")
				wantEqual(t, "schedule", tg.Schedule, tc.wantSched)
			}
			if !reflect.DeepEqual(models, tc.wantModels) {
				t.Errorf("runtime models = %v, want %v", models, tc.wantModels)
			}
			if tc.wantTokens != 0 {
				wantEqual(t, "max tokens", c.RuntimeMaxTokens("bedrock"), tc.wantTokens)
			}
		})
	}
}

// TestYAMLRoundTrip: check-config output must load back to the same
// configuration, including values that contain a literal "$".
func TestYAMLRoundTrip(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"example file": string(example),
		"dollar in a value": "tenant: \"cost$$center\"\nservices:\n  s3:\n    resources: [{name: b}]\n" +
			"pipeline:\n  audit_bucket: \"$${NOT_A_VAR}\"\n",
		"overrides and disabled service": "defaults:\n  thresholds: {error_rate: 0}\nservices:\n  kms:\n    enabled: false\n    resources: [{name: k}]\n" +
			"  lambda:\n    timeout: 2s\n    resources: [{name: f, schedule: \"@every 5s\", timeout: 1s}]\n",
	}
	for name, y := range tests {
		t.Run(name, func(t *testing.T) {
			first, err := Parse("config.yaml", []byte(y), nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := first.YAML()
			if err != nil {
				t.Fatal(err)
			}
			second, err := Parse("effective.yaml", out, nil)
			if err != nil {
				t.Fatalf("re-parse of YAML() output failed: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(first.Targets(), second.Targets()) {
				t.Errorf("targets differ after round trip:\n%+v\n%+v", first.Targets(), second.Targets())
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("config differs after round trip:\n%+v\n%+v\noutput:\n%s", first, second, out)
			}
		})
	}
}
