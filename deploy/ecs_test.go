package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/socmond/socmond/internal/config"
)

// TestECSTaskDefinition decodes the task definition strictly into the input
// of RegisterTaskDefinition (what `aws ecs register-task-definition
// --cli-input-json` sends) and checks it against the image and the daemon.
func TestECSTaskDefinition(t *testing.T) {
	td := loadTaskDefinition(t)
	var err error
	if td.Family == nil || *td.Family == "" || td.TaskRoleArn == nil || !strings.HasPrefix(*td.TaskRoleArn, "arn:aws:iam::") {
		t.Fatal("task definition needs a family and a task role (the one carrying deploy/iam/policy.json)")
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("want one container, got %d", len(td.ContainerDefinitions))
	}
	c := td.ContainerDefinitions[0]

	if lc := c.LogConfiguration; lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs || lc.Options["awslogs-group"] == "" || lc.Options["awslogs-region"] == "" {
		t.Error("logs must go to CloudWatch through awslogs, with a group and region")
	}
	hc := c.HealthCheck
	if hc == nil || len(hc.Command) < 3 || hc.Command[0] != "CMD" || hc.Command[1] != imageEntrypoint || hc.Command[2] != "healthcheck" {
		t.Errorf("health check must exec %s healthcheck (the image has no shell): %+v", imageEntrypoint, hc)
	}
	if len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort == nil || *c.PortMappings[0].ContainerPort != 9815 ||
		!slices.Contains(c.Command, "--web.listen-address=:9815") || !slices.Contains(hc.Command, "--web.url=http://127.0.0.1:9815") {
		t.Error("port mapping, listen address and health check URL must agree on 9815")
	}
	if c.User == nil || strings.HasPrefix(*c.User, "0") || c.ReadonlyRootFilesystem == nil || !*c.ReadonlyRootFilesystem {
		t.Error("container must run as non-root with a read-only root filesystem")
	}
	grace := 15 * time.Second
	for _, a := range c.Command {
		if v, ok := strings.CutPrefix(a, "--shutdown.grace-period="); ok {
			if grace, err = time.ParseDuration(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.StopTimeout == nil || time.Duration(*c.StopTimeout)*time.Second <= grace {
		t.Error("stopTimeout must exceed --shutdown.grace-period so probes in flight finish")
	}

	// The environment and the secrets configure socmond on their own (no
	// config file): it must load, name every pipeline resource, page an
	// Alertmanager with the credentials from Secrets Manager, and write the
	// EMF lines the CloudWatch alarms read.
	env := map[string]string{}
	for _, kv := range c.Environment {
		env[*kv.Name] = *kv.Value
	}
	for _, name := range []string{"AWS_REGION", "DDB_INVESTIGATIONS_TABLE", "DDB_METRICS_TABLE", "ARTIFACTS_BUCKET",
		"AUDIT_BUCKET", "KMS_KEY_ID", "EVENT_BUS_NAME", "STATE_MACHINE_ARN", "BEDROCK_TEXT_MODEL",
		"BEDROCK_EMBED_MODEL", "DEFAULT_TENANT_ID", "LAMBDA_FUNCTIONS", config.EnvAlertmanagerURL} {
		if env[name] == "" {
			t.Errorf("environment lacks %s", name)
		}
	}
	if env["SOCMOND_CLOUDWATCH_EMF"] != "true" {
		t.Error("SOCMOND_CLOUDWATCH_EMF must be true: without Prometheus, CloudWatch is where the task is watched")
	}
	secrets := ecsSecrets(t, td)
	for name, placeholder := range secrets {
		env[name] = placeholder
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("socmond cannot configure itself from the task's environment and secrets: %v", err)
	}
	if got := len(cfg.Targets()); got < 12 {
		t.Errorf("environment configures %d targets, want every pipeline resource", got)
	}
	if ams := cfg.Alerting.Alertmanagers; len(ams) != 1 || ams[0].BasicAuth == nil ||
		ams[0].BasicAuth.Username != secrets[config.EnvAlertmanagerUsername] || string(ams[0].BasicAuth.Password) != secrets[config.EnvAlertmanagerPassword] {
		t.Errorf("the task pages no Alertmanager with the credentials from its secrets: %+v", ams)
	}
	if slices.Contains(c.Command, "--config.file") {
		t.Error("the ECS task configures socmond from its environment, not a file")
	}
	// In the default blocking mode a log driver that cannot reach
	// CloudWatch Logs stalls every write to stderr, and with it the probe
	// that logs a status change: the monitor would go blind exactly when
	// AWS is in trouble. Non-blocking loses log lines instead.
	if lc := c.LogConfiguration; lc == nil || lc.Options["mode"] != "non-blocking" || lc.Options["max-buffer-size"] == "" {
		t.Error("awslogs must run in non-blocking mode with a max-buffer-size")
	}
}

// loadTaskDefinition decodes the task definition strictly.
func loadTaskDefinition(t *testing.T) ecs.RegisterTaskDefinitionInput {
	t.Helper()
	b, err := os.ReadFile("ecs/task-definition.json")
	if err != nil {
		t.Fatal(err)
	}
	var td ecs.RegisterTaskDefinitionInput
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&td); err != nil {
		t.Fatalf("task-definition.json: %v", err)
	}
	return td
}

// credentialVars are the variables that hold credentials: they come from
// `secrets`, never from the plain `environment` a task definition shows to
// anyone who can describe it.
var credentialVars = []string{config.EnvAlertmanagerUsername, config.EnvAlertmanagerPassword, config.EnvAlertmanagerBearerToken}

// secretARN is what ECS resolves into a variable: a Secrets Manager secret
// (optionally one JSON key of it: ARN:json-key:version-stage:version-id) or
// an SSM parameter.
var secretARN = regexp.MustCompile(`^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*)?|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$`)

// ecsSecrets checks the container's secrets and returns a placeholder value
// for each, as ECS would resolve them at start.
func ecsSecrets(t *testing.T, td ecs.RegisterTaskDefinitionInput) map[string]string {
	t.Helper()
	c := td.ContainerDefinitions[0]
	if len(c.Secrets) > 0 && (td.ExecutionRoleArn == nil || !strings.HasPrefix(*td.ExecutionRoleArn, "arn:aws:iam::")) {
		t.Error("secrets are resolved with the execution role: the task definition needs one")
	}
	out := map[string]string{}
	for _, s := range c.Secrets {
		name, from := aws.ToString(s.Name), aws.ToString(s.ValueFrom)
		if !slices.Contains(credentialVars, name) {
			t.Errorf("secret %s is no variable socmond reads credentials from (%v)", name, credentialVars)
		}
		if !secretARN.MatchString(from) {
			t.Errorf("secret %s: valueFrom %q is not a Secrets Manager secret or SSM parameter ARN", name, from)
		}
		out[name] = "placeholder-" + strings.ToLower(name)
	}
	for _, kv := range c.Environment {
		if slices.Contains(credentialVars, aws.ToString(kv.Name)) {
			t.Errorf("%s is in the plain environment: put it in secrets (valueFrom Secrets Manager)", aws.ToString(kv.Name))
		}
	}
	return out
}
