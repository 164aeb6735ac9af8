package simseed

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// TestFunctionsSendToTheExampleQueue: the example's functions send what
// they cannot process to the example's dead-letter queue, by the ARN the
// simulator gives that queue.
func TestFunctionsSendToTheExampleQueue(t *testing.T) {
	cfg, err := config.Load(filepath.Join(testenv.RepoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var functions, queues []string
	for _, tg := range cfg.Targets() {
		if d, _ := probes.Lookup(tg.Service); d.DeadLetter {
			queues = append(queues, tg.Resource)
		}
		if tg.Service == probes.ServiceLambda {
			functions = append(functions, tg.Resource)
		}
	}
	if len(functions) == 0 || len(queues) == 0 {
		t.Fatalf("config.example.yaml changed shape: functions %v, dead-letter queues %v", functions, queues)
	}
	seed := FromConfig(cfg)
	if len(seed.FunctionDeadLetters) != len(functions) {
		t.Fatalf("dead-letter targets %v, want one for each of %v", seed.FunctionDeadLetters, functions)
	}

	_, url := awssim.Serve(t, seed)
	awsCfg := aws.Config{Region: cfg.Region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIMSEEDTEST", "simseed-test-secret", "")}
	q, err := sqs.NewFromConfig(awsCfg).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queues[0]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	want := q.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	for _, fn := range functions {
		out, err := lambda.NewFromConfig(awsCfg).GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.DeadLetterConfig == nil || aws.ToString(out.DeadLetterConfig.TargetArn) != want {
			t.Errorf("%s's dead-letter config %+v, want %s", fn, out.DeadLetterConfig, want)
		}
	}
}

// TestTenantsSeedTheirAccounts: a config of tenants' pipelines seeds each
// account and region with its pipeline's resources, grants each role with
// its external id, and seeds an account without a role (socmond's own) in
// the default account; a probe through the role finds its resource.
func TestTenantsSeedTheirAccounts(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`
region: us-east-1
accounts:
  - {id: "111111111111", role_arn: "arn:aws:iam::111111111111:role/r", external_id: ext-1, regions: [us-east-1, eu-west-1]}
  - {id: "222222222222"}
tenants:
  - {name: a, pipelines: [{account: "111111111111"}]}
  - {name: b, pipelines: [{account: "222222222222"}]}
services:
  dynamodb: {resources: [{name: "t-${tenant}-${region}"}]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := FromConfig(cfg)
	if len(seed.Roles) != 1 || seed.Roles[0] != (awssim.Role{ARN: "arn:aws:iam::111111111111:role/r", ExternalID: "ext-1"}) {
		t.Errorf("roles %+v", seed.Roles)
	}
	tables := func(s awssim.Seed) []string { return append(slices.Clone(s.Tables), s.Resources["dynamodb"]...) }
	if got := tables(seed); len(got) != 1 || got[0] != "t-b-us-east-1" {
		t.Errorf("default scope's tables %v, want b's (socmond's own account, the default region)", got)
	}
	if len(seed.Scopes) != 2 || seed.Scopes[0].AccountID != "111111111111" || seed.Scopes[1].Region != "eu-west-1" ||
		!slices.Equal(tables(seed.Scopes[1]), []string{"t-a-eu-west-1"}) {
		t.Errorf("scopes %+v", seed.Scopes)
	}
	_, url := awssim.Serve(t, seed)
	base, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := base.Assume(awsclient.Assumption{RoleARN: "arn:aws:iam::111111111111:role/r", ExternalID: "ext-1", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := probes.New("dynamodb", probes.Resource{Name: "t-a-eu-west-1"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if r := probes.Run(context.Background(), p, probes.Options{Timeout: 5 * time.Second}); r.Status != probes.Healthy {
		t.Errorf("a's table through its role: %s %s %s", r.Status, r.Class, r.Detail)
	}
}
