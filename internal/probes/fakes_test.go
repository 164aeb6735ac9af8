package probes_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// The fakes below answer with a fixed output or error, or block until the
// deadline, and record the resource asked for and the per-call options so
// tests can check a probe asks for the right thing in exactly one attempt.

// fakeCall is what every fake shares.
type fakeCall struct {
	err      error
	block    bool
	resource string      // the identifier the probe sent
	retryer  aws.Retryer // the per-call Retryer the probe set
}

func (f *fakeCall) answer(ctx context.Context) error {
	if f.block {
		return blockUntilDone(ctx)
	}
	return f.err
}

type fakeDynamoDB struct {
	fakeCall
	out *dynamodb.DescribeTableOutput
}

func (f *fakeDynamoDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	var o dynamodb.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.TableName), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeKMS struct {
	fakeCall
	out *kms.DescribeKeyOutput
}

func (f *fakeKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	var o kms.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.KeyId), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeS3 struct {
	fakeCall
	out *s3.HeadBucketOutput
}

func (f *fakeS3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	var o s3.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.Bucket), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeEventBridge struct {
	fakeCall
	out *eventbridge.DescribeEventBusOutput
}

func (f *fakeEventBridge) DescribeEventBus(ctx context.Context, in *eventbridge.DescribeEventBusInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeEventBusOutput, error) {
	var o eventbridge.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.Name), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeSFN struct {
	fakeCall
	out *sfn.DescribeStateMachineOutput
}

func (f *fakeSFN) DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	var o sfn.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.StateMachineArn), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeLambda struct {
	fakeCall
	out *lambda.GetFunctionConfigurationOutput
}

func (f *fakeLambda) GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	var o lambda.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.FunctionName), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeBedrock struct {
	fakeCall
	out *bedrock.GetFoundationModelOutput
}

func (f *fakeBedrock) GetFoundationModel(ctx context.Context, in *bedrock.GetFoundationModelInput, optFns ...func(*bedrock.Options)) (*bedrock.GetFoundationModelOutput, error) {
	var o bedrock.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.ModelIdentifier), o.Retryer
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}

type fakeBedrockRuntime struct {
	fakeCall
	out       *bedrockruntime.ConverseOutput
	maxTokens int32
	invoked   []byte // the InvokeModel body sent
	reply     []byte // the InvokeModel body answered
}

func (f *fakeBedrockRuntime) InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error) {
	var o bedrockruntime.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer, f.invoked = aws.ToString(in.ModelId), o.Retryer, in.Body
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return &bedrockruntime.InvokeModelOutput{Body: f.reply, ContentType: aws.String("application/json")}, nil
}

func (f *fakeBedrockRuntime) Converse(ctx context.Context, in *bedrockruntime.ConverseInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error) {
	var o bedrockruntime.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.resource, f.retryer = aws.ToString(in.ModelId), o.Retryer
	if in.InferenceConfig != nil {
		f.maxTokens = aws.ToInt32(in.InferenceConfig.MaxTokens)
	}
	if err := f.answer(ctx); err != nil {
		return nil, err
	}
	return f.out, nil
}
