package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/probes"
)

// TestParseErrors asserts the exact text of every kind of error: the user
// reads these, and the file:line: key prefix is the contract.
func TestParseErrors(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want string // whole error text; joined errors are one per line
	}{
		"empty file": {
			yaml: "",
			want: "config.yaml:1: configuration is empty",
		},
		"only comments": {
			yaml: "# nothing here\n",
			want: "config.yaml:1: configuration is empty",
		},
		"explicit null document": {
			yaml: "~\n",
			want: "config.yaml:1: configuration is empty",
		},
		"syntax error": {
			yaml: "services:\n  kms:\n    resources: [a\n",
			// The library reports the line where the flow list's context began.
			want: "config.yaml:2: invalid YAML: did not find expected ',' or ']'",
		},
		"second document": {
			yaml: "tenant: a\n---\ntenant: b\n",
			want: "config.yaml:2: only one YAML document is allowed",
		},
		"top level is a list": {
			yaml: "- a\n",
			want: "config.yaml:1: expected a mapping, got a list",
		},
		"unknown top-level key": {
			yaml: "regoin: us-east-1\n",
			want: `config.yaml:1: unknown key "regoin" in top level`,
		},
		"unknown key in a service": {
			yaml: "services:\n  dynamodb:\n    resources: [{name: t}]\n  kms:\n    tiemout: 5s\n",
			want: `config.yaml:5: unknown key "tiemout" in services.kms`,
		},
		"unknown service": {
			yaml: "services:\n  cloudfront:\n    resources: [{name: d}]\n",
			want: `config.yaml:2: services.cloudfront: unknown service "cloudfront" (one of ` + strings.Join(probes.Services(), ", ") + ")",
		},
		"params for a service that takes none": {
			yaml: "services:\n  dynamodb:\n    params: {depth: \"3\"}\n    resources: [{name: t}]\n",
			want: "config.yaml:3: services.dynamodb.params.depth: DynamoDB takes no params",
		},
		"runtime for a service without one": {
			yaml: "services:\n  kms:\n    runtime: {enabled: true}\n    resources: [{name: alias/k}]\n",
			want: "config.yaml:3: services.kms.runtime: AWS KMS has no runtime probe",
		},
		"unknown key in a resource": {
			yaml: "services:\n  s3:\n    resources:\n      - name: b\n        bucket: b\n",
			want: `config.yaml:5: unknown key "bucket" in services.s3.resources[0]`,
		},
		"duplicate key": {
			yaml: "tenant: a\ntenant: b\n",
			want: "config.yaml:2: tenant: duplicate key",
		},
		"invalid duration": {
			yaml: "services:\n  dynamodb:\n    timeout: 5x\n    resources: [{name: t}]\n",
			want: `config.yaml:3: services.dynamodb.timeout: invalid duration "5x"`,
		},
		"duration without unit": {
			yaml: "defaults:\n  timeout: 10\n",
			want: `config.yaml:2: defaults.timeout: invalid duration "10"`,
		},
		"negative duration": {
			yaml: "defaults:\n  windows:\n    error_rate: -5m\n",
			want: `config.yaml:3: defaults.windows.error_rate: invalid duration "-5m": must be greater than 0`,
		},
		"zero duration": {
			yaml: "defaults:\n  thresholds:\n    response_time: 0s\n",
			want: `config.yaml:3: defaults.thresholds.response_time: invalid duration "0s": must be greater than 0`,
		},
		"duration given a list": {
			yaml: "services:\n  s3:\n    resources:\n      - name: b\n        timeout: [1s]\n",
			want: `config.yaml:5: services.s3.resources[0].timeout: expected a duration such as "30s", got a list`,
		},
		"list given a string": {
			yaml: "services:\n  lambda:\n    resources: fn-a\n",
			want: `config.yaml:3: services.lambda.resources: expected a list, got "fn-a"`,
		},
		"mapping given a string": {
			yaml: "defaults: fast\n",
			want: `config.yaml:1: defaults: expected a mapping, got "fast"`,
		},
		"string given a mapping": {
			yaml: "tenant: {a: b}\n",
			want: `config.yaml:1: tenant: expected a string, got a mapping`,
		},
		"yaml 1.1 boolean": {
			yaml: "services:\n  kms:\n    enabled: yes\n",
			want: `config.yaml:3: services.kms.enabled: invalid boolean "yes" (use true or false)`,
		},
		"ratio not a number": {
			yaml: "defaults:\n  thresholds:\n    error_rate: 5%\n",
			want: `config.yaml:3: defaults.thresholds.error_rate: invalid number "5%"`,
		},
		"ratio NaN": {
			yaml: "defaults:\n  thresholds:\n    availability: .nan\n",
			want: `config.yaml:3: defaults.thresholds.availability: invalid number ".nan"`,
		},
		"integer not a number": {
			yaml: "services:\n  bedrock:\n    runtime:\n      max_tokens: one\n",
			want: `config.yaml:4: services.bedrock.runtime.max_tokens: invalid integer "one"`,
		},
		"ratio above one": {
			yaml: "defaults:\n  thresholds:\n    availability: 99\nservices:\n  kms:\n    resources: [{name: k}]\n",
			want: `config.yaml:3: defaults.thresholds.availability: 99 is out of range: must be a ratio between 0 and 1`,
		},
		"negative ratio on a service": {
			yaml: "services:\n  kms:\n    thresholds:\n      error_rate: -0.1\n    resources: [{name: k}]\n",
			want: `config.yaml:4: services.kms.thresholds.error_rate: -0.1 is out of range: must be a ratio between 0 and 1`,
		},
		"invalid schedule": {
			yaml: "defaults:\n  schedule: every minute\nservices:\n  kms:\n    resources: [{name: k}]\n",
			want: `config.yaml:2: defaults.schedule: invalid schedule "every minute": expected 5 to 6 fields, found 2: [every minute]`,
		},
		"invalid resource schedule": {
			yaml: "services:\n  kms:\n    resources:\n      - name: k\n        schedule: \"@every never\"\n",
			want: `config.yaml:5: services.kms.resources[0].schedule: invalid schedule "@every never": failed to parse duration @every never: time: invalid duration "never"`,
		},
		"timeout above the maximum": {
			yaml: "services:\n  kms:\n    resources:\n      - name: k\n        timeout: 6m\n",
			want: `config.yaml:5: services.kms.resources[0].timeout: 6m0s exceeds the maximum of 5m0s`,
		},
		"missing resource name": {
			yaml: "services:\n  dynamodb:\n    resources:\n      - name: AsiaAgenticSocInvestigations-dev\n      - schedule: \"@every 1m\"\n",
			want: "config.yaml:5: services.dynamodb.resources[1].name: required",
		},
		"empty resource name": {
			yaml: "services:\n  dynamodb:\n    resources:\n      - name: \"\"\n",
			want: "config.yaml:4: services.dynamodb.resources[0].name: required",
		},
		"resource name with spaces": {
			yaml: "services:\n  s3:\n    resources:\n      - name: my bucket\n",
			want: `config.yaml:4: services.s3.resources[0].name: invalid name "my bucket": must not contain spaces`,
		},
		"duplicate resource": {
			yaml: "services:\n  lambda:\n    resources:\n      - name: fn\n      - name: other\n      - name: fn\n",
			want: `config.yaml:6: services.lambda.resources[2].name: duplicate resource "fn" (also services.lambda.resources[0])`,
		},
		"state machine by name": {
			yaml: "services:\n  stepfunctions:\n    resources:\n      - name: AsiaAgenticSocStateMachine\n",
			want: `config.yaml:4: services.stepfunctions.resources[0].name: invalid state machine "AsiaAgenticSocStateMachine": must be an ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`,
		},
		"no resources at all": {
			yaml: "region: us-east-1\nservices:\n  kms: {}\n",
			want: "config.yaml:2: services: no resources configured: list at least one under services.<name>.resources (" + strings.Join(probes.Services(), ", ") + ")",
		},
		"no services section": {
			yaml: "\ntenant: t\n",
			want: "config.yaml:2: services: no resources configured: list at least one under services.<name>.resources (" + strings.Join(probes.Services(), ", ") + ")",
		},
		"only disabled resources": {
			yaml: "services:\n  kms:\n    enabled: false\n    resources: [{name: k}]\n",
			want: "config.yaml:1: services: no resources configured: list at least one under services.<name>.resources (" + strings.Join(probes.Services(), ", ") + ")",
		},
		"enabled without resources": {
			yaml: "services:\n  kms:\n    enabled: true\n  s3:\n    resources: [{name: b}]\n",
			want: "config.yaml:3: services.kms.enabled: service is enabled but has no resources; list them under services.kms.resources",
		},
		"runtime without models": {
			yaml: "services:\n  bedrock:\n    runtime:\n      enabled: true\n  s3:\n    resources: [{name: b}]\n",
			want: "config.yaml:4: services.bedrock.runtime.enabled: the runtime probe needs at least one resource in services.bedrock.resources",
		},
		"runtime negative max tokens": {
			yaml: "services:\n  bedrock:\n    runtime:\n      max_tokens: -1\n    resources: [{name: m}]\n",
			want: "config.yaml:4: services.bedrock.runtime.max_tokens: must be at least 1, got -1",
		},
		"bad region": {
			yaml: "region: us east 1\nservices:\n  kms:\n    resources: [{name: k}]\n",
			want: `config.yaml:1: region: invalid region "us east 1" (expected a name such as us-east-1)`,
		},
		"several decode errors, one per line": {
			yaml: "tenant: [a]\nservices:\n  kms:\n    timeout: soon\n    colour: red\n",
			want: "config.yaml:1: tenant: expected a string, got a list\n" +
				`config.yaml:4: services.kms.timeout: invalid duration "soon"` + "\n" +
				`config.yaml:5: unknown key "colour" in services.kms`,
		},
		"several validation errors sorted by line": {
			yaml: "services:\n  lambda:\n    resources:\n      - name: \"\"\n  kms:\n    timeout: 9m\n    resources: [{name: k}]\n",
			want: "config.yaml:4: services.lambda.resources[0].name: required\n" +
				"config.yaml:6: services.kms.timeout: 9m0s exceeds the maximum of 5m0s",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tc.yaml), nil)
			if err == nil {
				t.Fatalf("Parse succeeded with targets %v, want error %q", c.Targets(), tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "config.yaml" {
				t.Errorf("errors.As(*Error) = %v, File %q; want a *Error for config.yaml", ce != nil, fileOf(ce))
			}
		})
	}
}

func fileOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.File
}

func TestParseAcceptsValidForms(t *testing.T) {
	const kms = "services:\n  kms:\n    resources: [{name: alias/k}]\n"
	tests := map[string]string{
		"six-field cron with seconds": "defaults:\n  schedule: \"*/15 * * * * *\"\n" + kms,
		"five-field cron":             "defaults:\n  schedule: \"*/5 * * * *\"\n  windows: {error_rate: 10m}\n" + kms,
		"descriptor":                  "defaults:\n  schedule: \"@hourly\"\n  windows: {error_rate: 2h, availability: 6h}\n" + kms,
		"compound duration":           "defaults:\n  timeout: 1m30s\n" + kms,
		"zero ratio":                  "defaults:\n  thresholds:\n    error_rate: 0\n" + kms,
		"null section":                "defaults:\n" + kms,
		"anchor and alias":            "defaults:\n  timeout: &t 7s\nservices:\n  kms:\n    timeout: *t\n    resources: [{name: k}]\n",
		"gov-cloud region":            "region: us-gov-west-1\n" + kms,
		"enabled with flow list":      "services: {s3: {enabled: true, resources: [{name: b}]}}\n",
	}
	for name, y := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse("config.yaml", []byte(y), nil); err != nil {
				t.Fatalf("Parse:\n%s\nerror: %v", y, err)
			}
		})
	}
}
