package awsclient

import (
	"context"
	"net/http/httptrace"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/wireconn"
)

// everyClient makes one call on each client New builds; what the call
// answers does not matter here, only the connection it went out on.
var everyClient = map[string]func(ctx context.Context, c *Clients) error{
	"bedrock": func(ctx context.Context, c *Clients) error {
		_, err := c.Bedrock.GetFoundationModel(ctx, &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("m")})
		return err
	},
	"bedrock runtime": func(ctx context.Context, c *Clients) error {
		_, err := c.BedrockRuntime.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte("{}")})
		return err
	},
	"dynamodb": func(ctx context.Context, c *Clients) error {
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
		return err
	},
	"s3": func(ctx context.Context, c *Clients) error {
		_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b")})
		return err
	},
	"kms": func(ctx context.Context, c *Clients) error {
		_, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/k")})
		return err
	},
	"eventbridge": func(ctx context.Context, c *Clients) error {
		_, err := c.EventBridge.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("bus")})
		return err
	},
	"sfn": func(ctx context.Context, c *Clients) error {
		_, err := c.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:m")})
		return err
	},
	"lambda": func(ctx context.Context, c *Clients) error {
		_, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("f")})
		return err
	},
	"sts": func(ctx context.Context, c *Clients) error {
		_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
}

// With a defaults mode (AWS_DEFAULTS_MODE, or defaults_mode in the shared
// config) the SDK derives each service's HTTP client with its own dialer,
// which replaced awsclient's: the connections stopped offering wire times
// and every probe silently fell back to the coarser hooks. Every client's
// connections must offer them whatever the mode, a role's clients' too.
func TestConnectionsOfferWireTimesInEveryDefaultsMode(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("wireconn wraps connections only on Linux")
	}
	for _, mode := range []string{"", "legacy", "standard", "in-region", "cross-region", "mobile"} {
		t.Run("mode "+mode, func(t *testing.T) {
			t.Setenv("AWS_DEFAULTS_MODE", mode)
			_, base := simClients(t, awssim.Seed{})
			// The clients of a role (Assume) are built as New's are.
			role, err := base.Assume(Assumption{RoleARN: "arn:aws:iam::123456789012:role/socmond"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Clients{base, role} {
				for name, call := range everyClient {
					var conn any
					ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
						GotConn: func(i httptrace.GotConnInfo) { conn = i.Conn },
					})
					_ = call(ctx, c) // the simulator holds none of these; any answer will do
					if conn == nil {
						t.Fatalf("%s: the call got no connection", name)
					}
					if _, ok := conn.(wireconn.Exchanges); !ok {
						t.Errorf("%s: connection %T offers no wire times", name, conn)
					}
				}
			}
		})
	}
}

// simClients starts a simulator holding seed and builds the clients against
// it with New.
func simClients(t *testing.T, seed awssim.Seed) (*awssim.Sim, *Clients) {
	t.Helper()
	sim, url := awssim.Serve(t, seed)
	c, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}
