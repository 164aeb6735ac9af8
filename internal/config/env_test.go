package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/probes"
)

func TestFromEnv(t *testing.T) {
	full := map[string]string{
		"AWS_REGION":               "ap-east-1",
		"DDB_INVESTIGATIONS_TABLE": "AsiaAgenticSocInvestigations-dev",
		"DDB_METRICS_TABLE":        "AsiaAgenticSocMetrics-dev",
		"ARTIFACTS_BUCKET":         "asia-agentic-soc-artifacts-123456789012-dev",
		"AUDIT_BUCKET":             "asia-agentic-soc-audit-123456789012-dev",
		"KMS_KEY_ID":               "alias/AsiaAgenticSoc",
		"EVENT_BUS_NAME":           "AsiaAgenticSocBus",
		"STATE_MACHINE_ARN":        "arn:aws:states:ap-east-1:123456789012:stateMachine:AsiaAgenticSocStateMachine",
		"BEDROCK_TEXT_MODEL":       "anthropic.claude-3-haiku-20240307-v1:0",
		"BEDROCK_EMBED_MODEL":      "amazon.titan-embed-text-v2:0",
		"DEFAULT_TENANT_ID":        "hk-demo",
		"LAMBDA_FUNCTIONS":         " AsiaAgenticSoc-Ingest-dev, AsiaAgenticSoc-Analyze-dev,,AsiaAgenticSoc-Store-dev, ",
	}
	type pair struct{ service, resource string }
	tests := map[string]struct {
		env          map[string]string
		wantRegion   string
		wantTenant   string
		wantTargets  []pair
		wantPipeline Pipeline
		wantErr      string
	}{
		"every variable": {
			env:        full,
			wantRegion: "ap-east-1", wantTenant: "hk-demo",
			wantTargets: []pair{
				{"bedrock", "anthropic.claude-3-haiku-20240307-v1:0"}, {"bedrock", "amazon.titan-embed-text-v2:0"},
				{"dynamodb", "AsiaAgenticSocInvestigations-dev"}, {"dynamodb", "AsiaAgenticSocMetrics-dev"},
				{"s3", "asia-agentic-soc-artifacts-123456789012-dev"}, {"s3", "asia-agentic-soc-audit-123456789012-dev"},
				{"kms", "alias/AsiaAgenticSoc"}, {"eventbridge", "AsiaAgenticSocBus"},
				{"stepfunctions", "arn:aws:states:ap-east-1:123456789012:stateMachine:AsiaAgenticSocStateMachine"},
				{"lambda", "AsiaAgenticSoc-Ingest-dev"}, {"lambda", "AsiaAgenticSoc-Analyze-dev"}, {"lambda", "AsiaAgenticSoc-Store-dev"},
			},
			wantPipeline: Pipeline{
				ArtifactsBucket:     "asia-agentic-soc-artifacts-123456789012-dev",
				AuditBucket:         "asia-agentic-soc-audit-123456789012-dev",
				KMSKey:              "alias/AsiaAgenticSoc",
				EventBus:            "AsiaAgenticSocBus",
				StateMachine:        "arn:aws:states:ap-east-1:123456789012:stateMachine:AsiaAgenticSocStateMachine",
				InvestigationsTable: "AsiaAgenticSocInvestigations-dev",
				MetricsTable:        "AsiaAgenticSocMetrics-dev",
			},
		},
		"one bucket, fallback region and tenant": {
			env:        map[string]string{"AWS_DEFAULT_REGION": "eu-west-1", "AUDIT_BUCKET": "audit"},
			wantRegion: "eu-west-1", wantTenant: "default",
			wantTargets:  []pair{{"s3", "audit"}},
			wantPipeline: Pipeline{AuditBucket: "audit"},
		},
		"no region at all": {
			env:        map[string]string{"KMS_KEY_ID": "k", "ARTIFACTS_BUCKET": ""},
			wantRegion: "us-east-1", wantTenant: "default",
			wantTargets:  []pair{{"kms", "k"}},
			wantPipeline: Pipeline{KMSKey: "k"},
		},
		"nothing set": {
			env:     map[string]string{"AWS_REGION": "us-east-1", "KMS_KEY_ID": "  "},
			wantErr: "config: no config file and none of these environment variables is set: BEDROCK_TEXT_MODEL, BEDROCK_EMBED_MODEL, DDB_INVESTIGATIONS_TABLE, DDB_METRICS_TABLE, ARTIFACTS_BUCKET, AUDIT_BUCKET, KMS_KEY_ID, EVENT_BUS_NAME, STATE_MACHINE_ARN, LAMBDA_FUNCTIONS, DEAD_LETTER_QUEUES",
		},
		"same table twice": {
			env:     map[string]string{"DDB_INVESTIGATIONS_TABLE": "t", "DDB_METRICS_TABLE": "t"},
			wantErr: `DDB_METRICS_TABLE: services.dynamodb.resources[1].name: duplicate resource "t" (also services.dynamodb.resources[0])`,
		},
		"state machine name instead of ARN": {
			env:     map[string]string{"STATE_MACHINE_ARN": "AsiaAgenticSocStateMachine"},
			wantErr: `STATE_MACHINE_ARN: services.stepfunctions.resources[0].name: invalid state machine "AsiaAgenticSocStateMachine": must be an ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`,
		},
		"bad region": {
			env:     map[string]string{"AWS_REGION": "Hong Kong", "KMS_KEY_ID": "k"},
			wantErr: `AWS_REGION: region: invalid region "Hong Kong" (expected a name such as us-east-1)`,
		},
		"lambda name with space": {
			env:     map[string]string{"LAMBDA_FUNCTIONS": "ok-fn,bad fn"},
			wantErr: `LAMBDA_FUNCTIONS: services.lambda.resources[1].name: invalid name "bad fn": must not contain spaces`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := FromEnv(envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []pair
			for _, tg := range c.Targets() {
				got = append(got, pair{tg.Service, tg.Resource})
				if tg.Schedule != DefaultSchedule || tg.Timeout != DefaultTimeout {
					t.Errorf("%s/%s: schedule %q timeout %v, want built-in defaults", tg.Service, tg.Resource, tg.Schedule, tg.Timeout)
				}
			}
			if !reflect.DeepEqual(got, tc.wantTargets) {
				t.Errorf("targets = %v\nwant      %v", got, tc.wantTargets)
			}
			wantEqual(t, "region", c.Region, tc.wantRegion)
			wantEqual(t, "tenant", c.Tenant, tc.wantTenant)
			wantEqual(t, "pipeline", c.Pipeline, tc.wantPipeline)
		})
	}
}

// TestFromEnvAlertmanagers: the variables an ECS task pages with. Every
// error names the variable to fix, and none repeats a credential.
func TestFromEnvAlertmanagers(t *testing.T) {
	base := map[string]string{"AWS_REGION": "us-east-1", "KMS_KEY_ID": "alias/k"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := map[string]struct {
		env     map[string]string
		want    []Alertmanager
		wantErr string
	}{
		"none": {env: base},
		"two, basic auth from secrets": {
			env: with("ALERTMANAGER_URL", " http://am-0:9093, https://am-1.example:9093/ ,",
				"ALERTMANAGER_USERNAME", "socmond", "ALERTMANAGER_PASSWORD", " pw with spaces "),
			want: []Alertmanager{
				{URL: "http://am-0:9093", Timeout: Duration(DefaultAMTimeout), BasicAuth: &BasicAuth{Username: "socmond", Password: " pw with spaces "}},
				{URL: "https://am-1.example:9093/", Timeout: Duration(DefaultAMTimeout), BasicAuth: &BasicAuth{Username: "socmond", Password: " pw with spaces "}},
			},
		},
		"bearer token": {
			env:  with("ALERTMANAGER_URL", "http://am:9093", "ALERTMANAGER_BEARER_TOKEN", "tok"),
			want: []Alertmanager{{URL: "http://am:9093", Timeout: Duration(DefaultAMTimeout), BearerToken: "tok"}},
		},
		"no credentials": {
			env:  with("ALERTMANAGER_URL", "http://am:9093"),
			want: []Alertmanager{{URL: "http://am:9093", Timeout: Duration(DefaultAMTimeout)}},
		},
		"invalid URL": {
			env:     with("ALERTMANAGER_URL", "http://am:9093,am:9093"),
			wantErr: `ALERTMANAGER_URL: alerting.alertmanagers[1].url: invalid URL "am:9093": expected http(s)://host:port`,
		},
		"credentials in the URL": {
			env:     with("ALERTMANAGER_URL", "https://socmond:s3cret-in-url@am:9093"),
			wantErr: "ALERTMANAGER_URL: URL 1 of 1 carries credentials: socmond logs Alertmanager URLs, so put them in ALERTMANAGER_USERNAME/ALERTMANAGER_PASSWORD or ALERTMANAGER_BEARER_TOKEN instead",
		},
		"token and basic auth": {
			env:     with("ALERTMANAGER_URL", "http://am:9093", "ALERTMANAGER_BEARER_TOKEN", "tok", "ALERTMANAGER_USERNAME", "u", "ALERTMANAGER_PASSWORD", "pw"),
			wantErr: "ALERTMANAGER_BEARER_TOKEN: set either it or ALERTMANAGER_USERNAME/ALERTMANAGER_PASSWORD, not both",
		},
		"username without password": {
			env:     with("ALERTMANAGER_URL", "http://am:9093", "ALERTMANAGER_USERNAME", "u"),
			wantErr: "ALERTMANAGER_PASSWORD: is empty but ALERTMANAGER_USERNAME is set: basic auth needs both",
		},
		"password without username": {
			env:     with("ALERTMANAGER_URL", "http://am:9093", "ALERTMANAGER_PASSWORD", "pw"),
			wantErr: "ALERTMANAGER_USERNAME: is empty but ALERTMANAGER_PASSWORD is set: basic auth needs both",
		},
		"credentials without a URL": {
			env:     with("ALERTMANAGER_BEARER_TOKEN", "tok"),
			wantErr: "ALERTMANAGER_BEARER_TOKEN: is set but ALERTMANAGER_URL is not: set the Alertmanager to send alerts to",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := FromEnv(envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
				}
				for _, secret := range []string{"s3cret-in-url", "tok", "pw"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("the error repeats a credential: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Alerting.Alertmanagers, tc.want) {
				t.Errorf("alertmanagers = %+v\nwant            %+v", c.Alerting.Alertmanagers, tc.want)
			}
		})
	}
}

// TestFromEnvEveryDescriptorVariable: every variable a service's descriptor
// names becomes a resource of that service, and the pipeline role it names
// exists (a descriptor's mistake would otherwise panic at start-up).
func TestFromEnvEveryDescriptorVariable(t *testing.T) {
	for _, d := range probes.All() {
		for _, v := range d.Env {
			name := d.Example // what the descriptor documents as a valid name
			env := map[string]string{v.Name: name}
			if d.Validate != nil && d.Validate(name) != nil {
				t.Fatalf("%s: no sample name passes its validation", d.Name)
			}
			c, err := FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Errorf("%s=%s: %v", v.Name, name, err)
				continue
			}
			if got := c.Targets(); len(got) != 1 || got[0].Service != d.Name || got[0].Resource != name {
				t.Errorf("%s: targets %+v, want one %s %s", v.Name, got, d.Name, name)
			}
			if v.Role != "" && *pipelineRole(&c.Pipeline, v.Role) != name {
				t.Errorf("%s: pipeline.%s not set", v.Name, v.Role)
			}
		}
	}
}
