package probes_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/socmond/socmond/internal/probes"
)

// The tables below cover every status branch of aws-api.md §1 for each
// service: what a successful response says about the resource.

var healthy = want{Status: probes.Healthy}

func invalidState(s probes.Status, detail string, hint ...string) want {
	return want{Status: s, Class: probes.ClassInvalidState, Detail: []string{detail}, Hint: hint}
}

func TestDynamoDBStates(t *testing.T) {
	keyArn := "arn:aws:kms:us-east-1:123456789012:key/k1"
	lost := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	table := func(status ddbtypes.TableStatus, sse *ddbtypes.SSEDescription) *dynamodb.DescribeTableOutput {
		return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: aws.String("t"), TableStatus: status, SSEDescription: sse}}
	}
	kmsSSE := &ddbtypes.SSEDescription{Status: ddbtypes.SSEStatusEnabled, SSEType: ddbtypes.SSETypeKms, KMSMasterKeyArn: aws.String(keyArn), InaccessibleEncryptionDateTime: &lost}
	tests := map[string]struct {
		out  *dynamodb.DescribeTableOutput
		want want
	}{
		"ACTIVE":                  {table(ddbtypes.TableStatusActive, nil), healthy},
		"ACTIVE with KMS":         {table(ddbtypes.TableStatusActive, &ddbtypes.SSEDescription{Status: ddbtypes.SSEStatusEnabled}), healthy},
		"ACTIVE, SSE UPDATING":    {table(ddbtypes.TableStatusActive, &ddbtypes.SSEDescription{Status: ddbtypes.SSEStatusUpdating}), invalidState(probes.Degraded, "SSEDescription.Status UPDATING", "encryption")},
		"UPDATING":                {table(ddbtypes.TableStatusUpdating, nil), invalidState(probes.Degraded, "TableStatus UPDATING", "ACTIVE")},
		"CREATING":                {table(ddbtypes.TableStatusCreating, nil), invalidState(probes.Degraded, "TableStatus CREATING", "ACTIVE")},
		"ARCHIVING":               {table(ddbtypes.TableStatusArchiving, kmsSSE), invalidState(probes.Unavailable, "TableStatus ARCHIVING", "KMS key", "archive")},
		"DELETING":                {table(ddbtypes.TableStatusDeleting, nil), invalidState(probes.Unavailable, "TableStatus DELETING", "backup")},
		"ARCHIVED":                {table(ddbtypes.TableStatusArchived, kmsSSE), invalidState(probes.Unavailable, "TableStatus ARCHIVED", "restore")},
		"REPLICATION_NOT_AUTHZED": {table(ddbtypes.TableStatusReplicationNotAuthorized, nil), invalidState(probes.Unavailable, "REPLICATION_NOT_AUTHORIZED", "replica")},
		"INACCESSIBLE_ENCRYPTION_CREDENTIALS": {table(ddbtypes.TableStatusInaccessibleEncryptionCredentials, kmsSSE),
			want{Status: probes.Unavailable, Class: probes.ClassInvalidState,
				Detail: []string{"INACCESSIBLE_ENCRYPTION_CREDENTIALS", keyArn, "2026-11-20T08:00:00Z", "archived after 2026-11-27T08:00:00Z"},
				Hint:   []string{"KMS key", "disabled", "7 days", "archives"}}},
		"unknown status": {table("SOMETHING_NEW", nil), invalidState(probes.Degraded, "SOMETHING_NEW")},
		"no table":       {&dynamodb.DescribeTableOutput{}, invalidState(probes.Degraded, "no Table")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertResult(t, run(probes.NewDynamoDBTable(&fakeDynamoDB{out: tc.out}, "t")), tc.want)
		})
	}
}

func TestKMSStates(t *testing.T) {
	deletion := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	key := func(s kmstypes.KeyState) *kms.DescribeKeyOutput {
		return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: aws.String("k1"), KeyState: s}}
	}
	pending := key(kmstypes.KeyStatePendingDeletion)
	pending.KeyMetadata.DeletionDate = &deletion
	tests := map[string]struct {
		out  *kms.DescribeKeyOutput
		want want
	}{
		"Enabled":                {key(kmstypes.KeyStateEnabled), healthy},
		"Creating":               {key(kmstypes.KeyStateCreating), invalidState(probes.Degraded, "KeyState Creating")},
		"Updating":               {key(kmstypes.KeyStateUpdating), invalidState(probes.Degraded, "KeyState Updating")},
		"PendingReplicaDeletion": {key(kmstypes.KeyStatePendingReplicaDeletion), invalidState(probes.Degraded, "KeyState PendingReplicaDeletion")},
		"Disabled":               {key(kmstypes.KeyStateDisabled), invalidState(probes.Unavailable, "KeyState Disabled", "enable it", "kms:EnableKey")},
		"PendingDeletion":        {pending, invalidState(probes.Unavailable, "deletion on 2026-12-04T00:00:00Z", "cancel", "kms:CancelKeyDeletion", "before 2026-12-04T00:00:00Z")},
		"PendingImport":          {key(kmstypes.KeyStatePendingImport), invalidState(probes.Unavailable, "KeyState PendingImport", "import")},
		"Unavailable":            {key(kmstypes.KeyStateUnavailable), invalidState(probes.Unavailable, "KeyState Unavailable", "custom key store")},
		"unknown":                {key("Frozen"), invalidState(probes.Degraded, "Frozen")},
		"no metadata":            {&kms.DescribeKeyOutput{}, invalidState(probes.Degraded, "no KeyMetadata")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertResult(t, run(probes.NewKMSKey(&fakeKMS{out: tc.out}, "k1")), tc.want)
		})
	}
	t.Run("KMSInvalidStateException", func(t *testing.T) {
		r := run(probes.NewKMSKey(&fakeKMS{fakeCall: fakeCall{err: apiErr(409, "KMSInvalidStateException")}}, "k1"))
		assertResult(t, r, want{Status: probes.Unavailable, Class: probes.ClassInvalidState, Code: "KMSInvalidStateException", Hint: []string{"enable it", "cancel its deletion"}})
	})
}

func TestLambdaStates(t *testing.T) {
	fn := func(s lambdatypes.State, u lambdatypes.LastUpdateStatus) *lambda.GetFunctionConfigurationOutput {
		return &lambda.GetFunctionConfigurationOutput{FunctionName: aws.String("f"), State: s, LastUpdateStatus: u}
	}
	failed := fn(lambdatypes.StateFailed, lambdatypes.LastUpdateStatusFailed)
	failed.StateReasonCode, failed.StateReason = lambdatypes.StateReasonCodeSubnetOutOfIPAddresses, aws.String("no free IPs")
	updateFailed := fn(lambdatypes.StateActive, lambdatypes.LastUpdateStatusFailed)
	updateFailed.LastUpdateStatusReasonCode = lambdatypes.LastUpdateStatusReasonCodeInvalidRuntime
	tests := map[string]struct {
		out  *lambda.GetFunctionConfigurationOutput
		want want
	}{
		"Active/Successful":   {fn(lambdatypes.StateActive, lambdatypes.LastUpdateStatusSuccessful), healthy},
		"Active/InProgress":   {fn(lambdatypes.StateActive, lambdatypes.LastUpdateStatusInProgress), invalidState(probes.Degraded, "LastUpdateStatus InProgress", "previous version")},
		"Active/Failed":       {updateFailed, invalidState(probes.Degraded, "reason InvalidRuntime", "previous version")},
		"Pending":             {fn(lambdatypes.StatePending, lambdatypes.LastUpdateStatusInProgress), invalidState(probes.Degraded, "State Pending")},
		"Inactive":            {fn(lambdatypes.StateInactive, lambdatypes.LastUpdateStatusSuccessful), invalidState(probes.Degraded, "State Inactive", "reactivates")},
		"Failed":              {failed, invalidState(probes.Unavailable, "reason SubnetOutOfIPAddresses: no free IPs", "StateReasonCode")},
		"Deactivating":        {fn(lambdatypes.StateDeactivating, ""), invalidState(probes.Unavailable, "State Deactivating")},
		"Deactivated":         {fn(lambdatypes.StateDeactivated, ""), invalidState(probes.Unavailable, "State Deactivated")},
		"ActiveNonInvocable":  {fn(lambdatypes.StateActiveNonInvocable, lambdatypes.LastUpdateStatusSuccessful), invalidState(probes.Unavailable, "State ActiveNonInvocable")},
		"Deleting":            {fn(lambdatypes.StateDeleting, ""), invalidState(probes.Unavailable, "State Deleting")},
		"unknown state":       {fn("Hibernating", ""), invalidState(probes.Degraded, "Hibernating")},
		"unknown last update": {fn(lambdatypes.StateActive, "Paused"), invalidState(probes.Degraded, "Paused")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertResult(t, run(probes.NewLambdaFunction(&fakeLambda{out: tc.out}, "f")), tc.want)
		})
	}
}

func TestStepFunctionsStates(t *testing.T) {
	sm := func(s sfntypes.StateMachineStatus) *sfn.DescribeStateMachineOutput {
		return &sfn.DescribeStateMachineOutput{Status: s, Type: sfntypes.StateMachineTypeStandard}
	}
	tests := map[string]struct {
		out  *sfn.DescribeStateMachineOutput
		want want
	}{
		"ACTIVE":   {sm(sfntypes.StateMachineStatusActive), healthy},
		"DELETING": {sm(sfntypes.StateMachineStatusDeleting), invalidState(probes.Unavailable, "status DELETING", "being deleted")},
		"unknown":  {sm("PAUSED"), invalidState(probes.Degraded, "PAUSED")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertResult(t, run(probes.NewStateMachine(&fakeSFN{out: tc.out}, "arn:sm")), tc.want)
		})
	}
	t.Run("InvalidArn", func(t *testing.T) {
		r := run(probes.NewStateMachine(&fakeSFN{fakeCall: fakeCall{err: apiErr(400, "InvalidArn")}}, "triage"))
		assertResult(t, r, want{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "InvalidArn", Hint: []string{"arn:aws:states:REGION:ACCOUNT:stateMachine:NAME"}})
	})
}

func TestBedrockStates(t *testing.T) {
	eol := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ext := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	model := func(lc *brtypes.FoundationModelLifecycle) *bedrock.GetFoundationModelOutput {
		return &bedrock.GetFoundationModelOutput{ModelDetails: &brtypes.FoundationModelDetails{ModelId: aws.String("m"), ModelLifecycle: lc}}
	}
	tests := map[string]struct {
		out  *bedrock.GetFoundationModelOutput
		want want
	}{
		"ACTIVE": {model(&brtypes.FoundationModelLifecycle{Status: brtypes.FoundationModelLifecycleStatusActive}), healthy},
		"LEGACY": {model(&brtypes.FoundationModelLifecycle{Status: brtypes.FoundationModelLifecycleStatusLegacy, EndOfLifeTime: &eol, PublicExtendedAccessTime: &ext}),
			want{Status: probes.Degraded, Class: probes.ClassInvalidState,
				Detail: []string{"model LEGACY, end of life 2026-06-01T00:00:00Z", "2026-03-01T00:00:00Z"}, Hint: []string{"LEGACY", "migrate"}}},
		"unknown":      {model(&brtypes.FoundationModelLifecycle{Status: "RETIRED"}), invalidState(probes.Degraded, "RETIRED")},
		"no lifecycle": {model(nil), invalidState(probes.Degraded, "no modelLifecycle")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertResult(t, run(probes.NewBedrockModel(&fakeBedrock{out: tc.out}, "m")), tc.want)
		})
	}
}

func TestBedrockRuntime(t *testing.T) {
	ok := &bedrockruntime.ConverseOutput{StopReason: rttypes.StopReasonMaxTokens,
		Usage: &rttypes.TokenUsage{InputTokens: aws.Int32(8), OutputTokens: aws.Int32(1), TotalTokens: aws.Int32(9)}}
	tests := map[string]struct {
		call fakeCall
		want want
	}{
		"max_tokens is healthy": {fakeCall{}, want{Status: probes.Healthy, Detail: []string{"stopReason max_tokens", "1 output tokens"}}},
		"ServiceQuotaExceeded":  {fakeCall{err: httpErr(400, &rttypes.ServiceQuotaExceededException{}, nil)}, want{Status: probes.Degraded, Class: probes.ClassThrottled, Code: "ServiceQuotaExceededException", Hint: []string{"Service Quotas"}}},
		"ModelTimeoutException": {fakeCall{err: httpErr(408, &rttypes.ModelTimeoutException{}, nil)}, want{Status: probes.Unavailable, Class: probes.ClassServer, Code: "ModelTimeoutException", Hint: []string{"failed to answer"}}},
		"ModelErrorException":   {fakeCall{err: httpErr(424, &rttypes.ModelErrorException{}, nil)}, want{Status: probes.Unavailable, Class: probes.ClassServer, Code: "ModelErrorException", Hint: []string{"failed to answer"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeBedrockRuntime{fakeCall: tc.call, out: ok}
			assertResult(t, run(probes.NewBedrockRuntime(f, "m", 1)), tc.want)
			if f.maxTokens != 1 {
				t.Errorf("maxTokens sent = %d, want 1", f.maxTokens)
			}
		})
	}
}

// Each embedding family gets its own minimal InvokeModel body, and the
// answer must hold an embedding.
func TestBedrockRuntimeEmbedding(t *testing.T) {
	titan := []byte(`{"embedding":[0.1,0.2],"inputTextTokenCount":1}`)
	cohere := []byte(`{"embeddings":[[0.1,0.2,0.3]],"id":"x","response_type":"embeddings_floats","texts":["ping"]}`)
	tests := map[string]struct {
		model, body string
		reply       []byte
		want        want
	}{
		"Titan v2": {"amazon.titan-embed-text-v2:0", `{"inputText":"ping","dimensions":256}`, titan,
			want{Status: probes.Healthy, Detail: []string{"embedding of 2 dimensions"}}},
		"Titan v1":         {"amazon.titan-embed-text-v1", `{"inputText":"ping"}`, titan, want{Status: probes.Healthy}},
		"Titan multimodal": {"amazon.titan-embed-image-v1", `{"inputText":"ping"}`, titan, want{Status: probes.Healthy}},
		"Cohere": {"cohere.embed-multilingual-v3", `{"texts":["ping"],"input_type":"search_query"}`, cohere,
			want{Status: probes.Healthy, Detail: []string{"embedding of 3 dimensions"}}},
		"Cohere by type": {"arn:aws:bedrock:us-east-1::foundation-model/cohere.embed-v4:0", `{"texts":["ping"],"input_type":"search_query"}`,
			[]byte(`{"embeddings":{"float":[[0.1]]},"response_type":"embeddings_by_type"}`), want{Status: probes.Healthy}},
		"no embedding": {"amazon.titan-embed-text-v2:0", `{"inputText":"ping","dimensions":256}`, []byte(`{"message":"?"}`),
			want{Status: probes.Unavailable, Class: probes.ClassServer, Detail: []string{"no embedding"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeBedrockRuntime{reply: tc.reply}
			r := run(probes.NewBedrockRuntime(f, tc.model, 1))
			assertResult(t, r, tc.want)
			if string(f.invoked) != tc.body || r.Check != "InvokeModel" {
				t.Errorf("%s sent %s, want InvokeModel with %s", r.Check, f.invoked, tc.body)
			}
			if _, ok := f.retryer.(aws.NopRetryer); !ok {
				t.Errorf("retryer %T, want one attempt", f.retryer)
			}
		})
	}
}

func TestS3(t *testing.T) {
	moved := func(region string) error {
		h := http.Header{}
		if region != "" {
			h.Set("X-Amz-Bucket-Region", region)
		}
		return httpErr(301, &smithy.GenericAPIError{Code: "MovedPermanently"}, h)
	}
	tests := map[string]struct {
		call fakeCall
		want want
	}{
		"200": {fakeCall{}, want{Status: probes.Healthy, Detail: []string{"us-east-1"}}},
		"301 names the region": {fakeCall{err: moved("eu-west-1")},
			want{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "MovedPermanently", Hint: []string{"region eu-west-1", "audit"}}},
		"301 without header": {fakeCall{err: moved("")},
			want{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "MovedPermanently", Hint: []string{"another region"}}},
		"500 is a server error, not throttling": {fakeCall{err: apiErr(500, "InternalError")},
			want{Status: probes.Unavailable, Class: probes.ClassServer, Code: "InternalError", Hint: []string{"Health Dashboard"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fakeS3{fakeCall: tc.call, out: &s3.HeadBucketOutput{BucketRegion: aws.String("us-east-1")}}
			assertResult(t, run(probes.NewS3Bucket(f, "audit")), tc.want)
		})
	}
}

func TestEventBridge(t *testing.T) {
	out := &eventbridge.DescribeEventBusOutput{Name: aws.String("soc-bus"), Arn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/soc-bus")}
	assertResult(t, run(probes.NewEventBus(&fakeEventBridge{out: out}, "soc-bus")), want{Status: probes.Healthy, Detail: []string{"event-bus/soc-bus"}})
	// On EventBridge LimitExceededException is a hard quota, not a passing throttle.
	r := run(probes.NewEventBus(&fakeEventBridge{fakeCall: fakeCall{err: apiErr(400, "LimitExceededException")}}, "soc-bus"))
	assertResult(t, r, want{Status: probes.Degraded, Class: probes.ClassThrottled, Code: "LimitExceededException", Hint: []string{"quota"}})
}
