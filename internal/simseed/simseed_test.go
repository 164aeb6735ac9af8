package simseed

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

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
