package compliance

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TableFacts are what DescribeTable (and DescribeKey on the table's key)
// report about a table's encryption.
type TableFacts struct {
	// SSEPresent is false when DescribeTable has no SSEDescription: the
	// table uses an AWS-owned key, which the bank does not control.
	SSEPresent        bool
	Status            string // ENABLED, UPDATING, …
	SSEType           string // KMS
	KeyARN            string // KMSMasterKeyArn
	InaccessibleSince time.Time
	// KeyManager is what DescribeKey said about KeyARN ("" when unknown).
	KeyManager string
}

// WantKey is the configured key: its name as written and, when KMS could
// resolve it, its id and ARN.
type WantKey struct {
	Name, KeyID, ARN string
}

func (w WantKey) matches(got string) bool { return sameKey(got, w.Name, w.KeyID, w.ARN) }

// EvaluateTableEncryption decides dynamodb_kms_encryption from what was
// fetched. now dates the archival deadline of an inaccessible key.
func EvaluateTableEncryption(t TableFacts, want WantKey) (Verdict, string) {
	o := evaluateTable(t, want)
	return o.verdict, o.reason
}

func evaluateTable(t TableFacts, want WantKey) outcome {
	switch {
	case !t.SSEPresent:
		return fail("no SSEDescription: the table is encrypted with an AWS-owned key the bank cannot control or audit; switch it to the customer-managed key (UpdateTable SSESpecification SSEType=KMS, KMSMasterKeyId)")
	case !t.InaccessibleSince.IsZero():
		return fail("KMS KEY INACCESSIBLE since %s: DynamoDB cannot read or write the table and ARCHIVES it after 7 days (by %s); restore access to %s (enable it, fix its key policy or grants) now",
			ts(t.InaccessibleSince), ts(t.InaccessibleSince.Add(7*24*time.Hour)), t.KeyARN)
	case t.Status != "ENABLED":
		return fail("encryption status is %s, not ENABLED; if an encryption change is in progress this clears when it finishes", t.Status)
	case t.SSEType != "KMS":
		return fail("SSEType is %s, not KMS; switch the table to the customer-managed key", t.SSEType)
	case t.KeyManager == "AWS":
		return fail("encrypted with the AWS-managed key (aws/dynamodb) %s, not the pipeline's customer-managed key: the bank controls neither its policy nor its rotation; switch with UpdateTable SSESpecification KMSMasterKeyId", t.KeyARN)
	case want.Name != "" && !want.matches(t.KeyARN):
		return fail("encrypted with %s, not the configured key %s; switch with UpdateTable SSESpecification KMSMasterKeyId, or correct pipeline.kms_key", t.KeyARN, want.Name)
	case want.Name == "" && t.KeyManager != "CUSTOMER":
		return fail("encrypted with %s, whose key manager could not be read; configure pipeline.kms_key so the key can be compared", t.KeyARN)
	}
	return pass("SSE-KMS ENABLED with the customer-managed key %s", t.KeyARN)
}

func (t TableFacts) inputs(into map[string]string) {
	if !t.SSEPresent {
		into["SSEDescription"] = "absent"
		return
	}
	for name, v := range map[string]string{"Status": t.Status, "SSEType": t.SSEType, "KMSMasterKeyArn": t.KeyARN, "KeyManager": t.KeyManager} {
		if v != "" {
			into[name] = v
		}
	}
	if !t.InaccessibleSince.IsZero() {
		into["InaccessibleEncryptionDateTime"] = ts(t.InaccessibleSince)
	}
}

// wantKey resolves the configured key once; a failure leaves only the name,
// which is then compared as written.
func (c *Checker) wantKey(ctx context.Context, keys *keyCache) WantKey {
	w := WantKey{Name: c.Targets.KMSKey}
	if w.Name == "" || c.KMS == nil {
		return w
	}
	if k, err := keys.describe(ctx, w.Name); err == nil {
		w.KeyID, w.ARN = k.KeyID, k.ARN
	}
	return w
}

func (c *Checker) checkTable(ctx context.Context, keys *keyCache, name string) Finding {
	f, done := c.begin(CheckDynamoDBKMS, name)
	cctx, cancel := c.callCtx(ctx)
	out, err := c.DynamoDB.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: &name})
	cancel()
	if err != nil {
		callFailed(f, "DescribeTable", "dynamodb:DescribeTable", err)
		return done()
	}
	var t TableFacts
	if out.Table != nil && out.Table.SSEDescription != nil {
		d := out.Table.SSEDescription
		t = TableFacts{SSEPresent: true, Status: string(d.Status), SSEType: string(d.SSEType), KeyARN: aws.ToString(d.KMSMasterKeyArn)}
		if d.InaccessibleEncryptionDateTime != nil {
			t.InaccessibleSince = *d.InaccessibleEncryptionDateTime
		}
	}
	if t.KeyARN != "" && c.KMS != nil {
		// The key manager tells aws/dynamodb from the bank's own key.
		if k, err := keys.describe(ctx, t.KeyARN); err == nil {
			t.KeyManager = k.KeyManager
		}
	}
	want := c.wantKey(ctx, keys)
	t.inputs(f.Inputs)
	o := evaluateTable(t, want)
	f.Verdict, f.Reason = o.verdict, o.reason
	return done()
}

// ResolveKey describes a configured key name so that references to it by id
// or ARN compare equal. Without a KMS client, or when KMS cannot answer,
// only the name is known and references are compared as written.
func ResolveKey(ctx context.Context, c KMSAPI, name string) WantKey {
	ch := &Checker{KMS: c, Targets: Targets{KMSKey: name}}
	return ch.wantKey(ctx, &keyCache{c: ch, facts: map[string]*keyLookup{}})
}
