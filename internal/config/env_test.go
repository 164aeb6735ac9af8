package config

import (
	"reflect"
	"testing"
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
			wantErr: "config: no config file and none of these environment variables is set: BEDROCK_TEXT_MODEL, BEDROCK_EMBED_MODEL, DDB_INVESTIGATIONS_TABLE, DDB_METRICS_TABLE, ARTIFACTS_BUCKET, AUDIT_BUCKET, KMS_KEY_ID, EVENT_BUS_NAME, STATE_MACHINE_ARN, LAMBDA_FUNCTIONS",
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
