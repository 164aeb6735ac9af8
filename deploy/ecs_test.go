package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/socmond/socmond/internal/config"
)

// TestECSTaskDefinition decodes the task definition strictly into the input
// of RegisterTaskDefinition (what `aws ecs register-task-definition
// --cli-input-json` sends) and checks it against the image and the daemon.
func TestECSTaskDefinition(t *testing.T) {
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

	// The seed environment configures socmond on its own (no config file):
	// it must load, and name every pipeline resource.
	env := map[string]string{}
	for _, kv := range c.Environment {
		env[*kv.Name] = *kv.Value
	}
	for _, name := range []string{"AWS_REGION", "DDB_INVESTIGATIONS_TABLE", "DDB_METRICS_TABLE", "ARTIFACTS_BUCKET",
		"AUDIT_BUCKET", "KMS_KEY_ID", "EVENT_BUS_NAME", "STATE_MACHINE_ARN", "BEDROCK_TEXT_MODEL",
		"BEDROCK_EMBED_MODEL", "DEFAULT_TENANT_ID", "LAMBDA_FUNCTIONS"} {
		if env[name] == "" {
			t.Errorf("environment lacks %s", name)
		}
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("socmond cannot configure itself from the task's environment: %v", err)
	}
	if got := len(cfg.Targets()); got < 12 {
		t.Errorf("environment configures %d targets, want every pipeline resource", got)
	}
	if slices.Contains(c.Command, "--config.file") {
		t.Error("the ECS task configures socmond from its environment, not a file")
	}
}
