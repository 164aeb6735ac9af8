package awssim

import (
	"context"
	"errors"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDynamoDBDescribeTable(t *testing.T) {
	e := start(t, testSeed())
	out, err := e.ddb().DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	tb := out.Table
	keyARN := e.sim.def.kms().firstKeyARN()
	if tb.TableStatus != types.TableStatusActive || aws.ToString(tb.TableArn) != "arn:aws:dynamodb:us-east-1:123456789012:table/soc-alerts" {
		t.Fatalf("table %s %s", tb.TableStatus, aws.ToString(tb.TableArn))
	}
	sse := tb.SSEDescription
	if sse == nil || sse.Status != types.SSEStatusEnabled || sse.SSEType != types.SSETypeKms || aws.ToString(sse.KMSMasterKeyArn) != keyARN || keyARN == "" {
		t.Fatalf("SSEDescription %+v, want ENABLED/KMS/%s", sse, keyARN)
	}
	if tb.CreationDateTime == nil || time.Since(*tb.CreationDateTime) < time.Hour {
		t.Fatalf("CreationDateTime %v", tb.CreationDateTime)
	}
	// The response carried a correct CRC32, so the SDK did not warn.
	if logs := e.logs.all(); strings.Contains(logs, "checksum") {
		t.Fatalf("SDK warned: %s", logs)
	}
}

func TestDynamoDBNoKeyMeansAWSOwnedEncryption(t *testing.T) {
	e := start(t, Seed{Tables: []string{"plain"}})
	out, err := e.ddb().DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Table.SSEDescription != nil {
		t.Fatalf("SSEDescription %+v, want none (AWS-owned key)", out.Table.SSEDescription)
	}
}

func TestDynamoDBErrors(t *testing.T) {
	e := start(t, testSeed())
	c := e.ddb()
	tests := map[string]struct {
		call       func(context.Context) error
		code       string
		wantStatus int
	}{
		"unknown table": {func(ctx context.Context) error {
			_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 400},
		"bad table name": {func(ctx context.Context) error {
			_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("a b")})
			return err
		}, "ValidationException", 400},
		"get with wrong key": {func(ctx context.Context) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("soc-alerts"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "x"}}})
			return err
		}, "ValidationException", 400},
		"get with wrong key type": {func(ctx context.Context) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("soc-alerts"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberN{Value: "1"}}})
			return err
		}, "ValidationException", 400},
		"put without key": {func(ctx context.Context) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("soc-alerts"), Item: map[string]types.AttributeValue{"other": &types.AttributeValueMemberS{Value: "x"}}})
			return err
		}, "ValidationException", 400},
		"put to unknown table": {func(ctx context.Context) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("nope"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
			return err
		}, "ResourceNotFoundException", 400},
		"unsupported condition": {func(ctx context.Context) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("soc-alerts"), ConditionExpression: aws.String("size(pk) > 1"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
			return err
		}, "ValidationException", 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wantAPIErr(t, tc.call(ctx(t)), tc.code, tc.wantStatus)
		})
	}
	// DynamoDB's modeled not-found error arrives as its typed error.
	_, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("want *types.ResourceNotFoundException, got %T", err)
	}
}

func TestDynamoDBMissingTableNameIsValidationError(t *testing.T) {
	// The SDK refuses to send a request without TableName, so send it by hand.
	e := start(t, testSeed())
	resp, body := rawAWS(t, "POST", e.url, map[string]string{
		"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "X-Amz-Date": "20261127T000000Z",
		"Authorization": authHeader("us-east-1", "dynamodb"),
	}, `{}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "com.amazon.coral.service#ValidationException") {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}

func TestDynamoDBItems(t *testing.T) {
	e := start(t, Seed{Tables: []string{"inv"}, TableKeys: map[string]string{"inv": "investigationId"}})
	c := e.ddb()
	key := map[string]types.AttributeValue{"investigationId": &types.AttributeValueMemberS{Value: "inv-1"}}
	got, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("inv"), Key: key})
	if err != nil || got.Item != nil {
		t.Fatalf("get before put: %v %v", got, err)
	}
	item := map[string]types.AttributeValue{
		"investigationId": &types.AttributeValueMemberS{Value: "inv-1"},
		"severity":        &types.AttributeValueMemberN{Value: "7"},
		"tags":            &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
	}
	cond := &dynamodb.PutItemInput{TableName: aws.String("inv"), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#k)"), ExpressionAttributeNames: map[string]string{"#k": "investigationId"}}
	if _, err := c.PutItem(ctx(t), cond); err != nil {
		t.Fatal(err)
	}
	// A second conditional put of the same key fails the condition.
	_, err = c.PutItem(ctx(t), cond)
	wantAPIErr(t, err, "ConditionalCheckFailedException", 400)

	item["severity"] = &types.AttributeValueMemberN{Value: "9"}
	put, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String("inv"), Item: item, ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		t.Fatal(err)
	}
	if old, ok := put.Attributes["severity"].(*types.AttributeValueMemberN); !ok || old.Value != "7" {
		t.Fatalf("ALL_OLD severity %#v", put.Attributes["severity"])
	}
	got, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("inv"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	sev, ok := got.Item["severity"].(*types.AttributeValueMemberN)
	tags, ok2 := got.Item["tags"].(*types.AttributeValueMemberSS)
	if !ok || sev.Value != "9" || !ok2 || len(tags.Value) != 2 {
		t.Fatalf("item %#v", got.Item)
	}
	desc, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/inv")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(desc.Table.ItemCount) != 1 || aws.ToString(desc.Table.KeySchema[0].AttributeName) != "investigationId" {
		t.Fatalf("ItemCount %d key %s", aws.ToInt64(desc.Table.ItemCount), aws.ToString(desc.Table.KeySchema[0].AttributeName))
	}
	if logs := e.logs.all(); strings.Contains(logs, "checksum") {
		t.Fatalf("SDK warned: %s", logs)
	}
}

func TestDynamoDBCRC32Header(t *testing.T) {
	e := start(t, testSeed())
	for _, body := range []string{`{"TableName":"soc-alerts"}`, `{"TableName":"missing"}`} {
		resp, raw := rawAWS(t, "POST", e.url, map[string]string{
			"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "X-Amz-Date": "20261127T000000Z",
			"Authorization": authHeader("us-east-1", "dynamodb"),
		}, body)
		want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(raw)), 10)
		if got := resp.Header.Get("X-Amz-Crc32"); got != want {
			t.Fatalf("%s: X-Amz-Crc32 %q, want %q", body, got, want)
		}
		if resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("%s: no request id", body)
		}
	}
}

func TestDynamoDBFaults(t *testing.T) {
	tests := map[string]struct {
		fault      Fault
		wantCode   string
		wantStatus int
		wantState  types.TableStatus
		malformed  bool
	}{
		"throttling":         {fault: Fault{Service: "dynamodb", Error: "ThrottlingException"}, wantCode: "ThrottlingException", wantStatus: 400},
		"access denied":      {fault: Fault{Service: "dynamodb", Error: "AccessDeniedException"}, wantCode: "AccessDeniedException", wantStatus: 400},
		"internal":           {fault: Fault{Service: "dynamodb", Error: "InternalServerError"}, wantCode: "InternalServerError", wantStatus: 500},
		"unknown code 5xx":   {fault: Fault{Service: "dynamodb", Error: "ServiceUnavailable"}, wantCode: "ServiceUnavailable", wantStatus: 503},
		"state by name":      {fault: Fault{Service: "dynamodb", Resource: "soc-alerts", State: "ARCHIVED"}, wantState: types.TableStatusArchived},
		"state by table arn": {fault: Fault{Service: "dynamodb", Resource: "arn:aws:dynamodb:us-east-1:123456789012:table/soc-alerts", State: "UPDATING"}, wantState: types.TableStatusUpdating},
		"other table":        {fault: Fault{Service: "dynamodb", Resource: "other", Error: "ThrottlingException"}, wantState: types.TableStatusActive},
		"malformed":          {fault: Fault{Service: "dynamodb", Malformed: true}, malformed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := start(t, testSeed())
			e.sim.AddFault(tc.fault)
			out, err := e.ddb().DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
			switch {
			case tc.malformed:
				wantDeserializationErr(t, err)
			case tc.wantCode != "":
				wantAPIErr(t, err, tc.wantCode, tc.wantStatus)
			default:
				if err != nil {
					t.Fatal(err)
				}
				if out.Table.TableStatus != tc.wantState {
					t.Fatalf("status %s, want %s", out.Table.TableStatus, tc.wantState)
				}
			}
		})
	}
}

func TestFaultCountExpiresAndLatency(t *testing.T) {
	e := start(t, testSeed())
	c := e.ddb()
	in := &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")}
	e.sim.AddFault(Fault{Service: "dynamodb", Error: "ProvisionedThroughputExceededException", Count: 2})
	for i := 0; i < 2; i++ {
		_, err := c.DescribeTable(ctx(t), in)
		wantAPIErr(t, err, "ProvisionedThroughputExceededException", 400)
	}
	if _, err := c.DescribeTable(ctx(t), in); err != nil {
		t.Fatalf("third call after the fault expired: %v", err)
	}
	if f := e.sim.Faults(); len(f) != 0 {
		t.Fatalf("expired fault still listed: %+v", f)
	}

	// Injected latency delays the answer by at least that much.
	e.sim.AddFault(Fault{Service: "dynamodb", Latency: "50ms", Count: 1})
	began := time.Now()
	out, err := c.DescribeTable(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 50*time.Millisecond {
		t.Fatalf("answered after %v, want >= 50ms", d)
	}
	// The record says which answer it was and how long the simulator held
	// it, so a benchmark can tell its own lateness from the prober's.
	last := e.sim.Calls()[len(e.sim.Calls())-1]
	if rid, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); rid == "" || last.RequestID != rid {
		t.Fatalf("recorded request id %q, SDK saw %q", last.RequestID, rid)
	}
	if last.Held < 50*time.Millisecond {
		t.Fatalf("recorded held %v, want >= the 50ms injected", last.Held)
	}
	// Held runs from the request's arrival to the answer's sending, both
	// inside the caller's own round trip.
	if d := time.Since(began); last.Held > d {
		t.Fatalf("recorded held %v, longer than the caller's whole call %v", last.Held, d)
	}

	// A latency beyond the caller's deadline turns into a deadline error.
	e.sim.AddFault(Fault{Service: "dynamodb", Latency: "1m", Count: 1})
	short, cancel := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel()
	_, err = c.DescribeTable(short, in)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	calls := e.sim.Calls()
	for _, call := range calls {
		if call.Attempt != 1 {
			t.Fatalf("attempt %d recorded, want 1 (RetryMaxAttempts=1): %+v", call.Attempt, call)
		}
	}
}

// A fault may name one operation: a compliance read (DescribeTable of the
// same table a probe reads) can be failed without failing the other
// operations of the service, and the other way round.
func TestFaultOperation(t *testing.T) {
	e := start(t, testSeed())
	c := e.ddb()
	e.sim.AddFault(Fault{Service: "dynamodb", Operation: "GetItem", Error: "ThrottlingException", Count: 1})
	if _, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")}); err != nil {
		t.Fatalf("DescribeTable took a fault meant for GetItem: %v", err)
	}
	_, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String("soc-alerts"),
		Key: map[string]types.AttributeValue{"x": &types.AttributeValueMemberS{Value: "y"}}})
	wantAPIErr(t, err, "ThrottlingException", 400)
	if f := e.sim.Faults(); len(f) != 0 {
		t.Fatalf("the counted fault was not used up by its operation: %+v", f)
	}
}
