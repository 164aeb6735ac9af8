package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TableFacts are what DescribeTable (and DescribeKey on the table's key)
// report about a table's encryption.
type TableFacts struct {
	Table string // the table's name, for the remediation command
	// SSEPresent is false when DescribeTable has no SSEDescription: the
	// table uses an AWS-owned key, which the bank does not control.
	SSEPresent        bool
	Status            string // ENABLED, UPDATING, …
	SSEType           string // KMS
	KeyARN            string // KMSMasterKeyArn
	InaccessibleSince time.Time
	// KeyManager is what DescribeKey said about KeyARN ("" when unknown).
	KeyManager string
	// KeyUnresolved: DescribeKey on KeyARN failed, so KeyManager is
	// unknown rather than unasked (no KMS client).
	KeyUnresolved bool
}

// WantKey is the configured key: its name as written and, when KMS could
// resolve it, its id and ARN.
type WantKey struct {
	Name, KeyID, ARN string
	// Unresolved: KMS was asked and could not resolve Name (throttled,
	// denied, timed out), so a reference that does not match it as
	// written may still name it. Without a KMS client it stays false:
	// references are then compared as written (MinIO has its own names).
	Unresolved bool
}

func (w WantKey) matches(got string) bool { return sameKey(got, w.Name, w.KeyID, w.ARN) }

// ref is how a remediation command should name the configured key: its
// ARN when KMS resolved it (what S3 and DynamoDB document as the safe
// form), else as configured.
func (w WantKey) ref() string {
	switch {
	case w.ARN != "":
		return w.ARN
	case w.Name != "":
		return w.Name
	}
	return "<the pipeline's customer-managed key>"
}

// EvaluateTableEncryption decides dynamodb_kms_encryption from what was
// fetched; hint is what to do about a FAIL.
func EvaluateTableEncryption(t TableFacts, want WantKey) (v Verdict, reason, hint string) {
	o := evaluateTable(t, want)
	return o.verdict, o.reason, o.hint
}

func evaluateTable(t TableFacts, want WantKey) outcome {
	updateTable := fmt.Sprintf("`aws dynamodb update-table --table-name %s --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=%s`", t.Table, want.ref())
	switch {
	case !t.SSEPresent:
		return fail("no SSEDescription: the table is encrypted with an AWS-owned key the bank cannot control or audit").
			fix("switch it to the customer-managed key: %s", updateTable)
	case !t.InaccessibleSince.IsZero():
		return fail("KMS KEY INACCESSIBLE since %s: DynamoDB cannot read or write the table and ARCHIVES it after 7 days (by %s)",
			ts(t.InaccessibleSince), ts(t.InaccessibleSince.Add(7*24*time.Hour))).
			fix("restore access to %[1]s now: `aws kms describe-key --key-id %[1]s` shows its state; enable it (`aws kms enable-key`) or cancel its deletion (`aws kms cancel-key-deletion`), and restore the key policy and grants DynamoDB uses", t.KeyARN)
	case t.Status != "ENABLED":
		return fail("encryption status is %s, not ENABLED", t.Status).
			fix("an encryption change in progress clears this when it finishes (`aws dynamodb describe-table --table-name %s --query Table.SSEDescription`); if it stays %s, apply the key again: %s", t.Table, t.Status, updateTable)
	case t.SSEType != "KMS":
		return fail("SSEType is %s, not KMS", t.SSEType).
			fix("switch the table to the customer-managed key: %s", updateTable)
	case t.KeyManager == "AWS":
		return fail("encrypted with the AWS-managed key (aws/dynamodb) %s, not the pipeline's customer-managed key: the bank controls neither its policy nor its rotation", t.KeyARN).
			fix("switch it to the customer-managed key: %s", updateTable)
	case want.Name != "" && !want.matches(t.KeyARN):
		if want.Unresolved {
			return unresolved(want.Name, "could not tell whether %s is the configured key %s: KMS did not resolve the configured key", t.KeyARN, want.Name)
		}
		return fail("encrypted with %s, not the configured key %s", t.KeyARN, want.Name).
			fix("switch it: %s; or, if %s is the pipeline's key, correct pipeline.kms_key", updateTable, t.KeyARN)
	case want.Name == "" && t.KeyManager != "CUSTOMER":
		if t.KeyUnresolved {
			return unresolved(t.KeyARN, "encrypted with %s, whose key manager KMS did not say; configure pipeline.kms_key so the key can be compared", t.KeyARN)
		}
		return fail("encrypted with %s, whose key manager could not be read", t.KeyARN).
			fix("set pipeline.kms_key to the pipeline's customer-managed key, so socmond can compare the table's key with it")
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

// wantKey resolves the configured key once; a failure leaves only the name
// and marks it Unresolved.
func (c *Checker) wantKey(ctx context.Context, keys *keyCache) WantKey {
	w := WantKey{Name: c.Targets.KMSKey}
	if w.Name == "" || c.KMS == nil {
		return w
	}
	k, err := keys.describe(ctx, w.Name)
	if err != nil {
		w.Unresolved = true
		return w
	}
	w.KeyID, w.ARN = k.KeyID, k.ARN
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
	t := TableFacts{Table: name}
	if out.Table != nil && out.Table.SSEDescription != nil {
		d := out.Table.SSEDescription
		t = TableFacts{Table: name, SSEPresent: true, Status: string(d.Status), SSEType: string(d.SSEType), KeyARN: aws.ToString(d.KMSMasterKeyArn)}
		if d.InaccessibleEncryptionDateTime != nil {
			t.InaccessibleSince = *d.InaccessibleEncryptionDateTime
		}
	}
	if t.KeyARN != "" && c.KMS != nil {
		// The key manager tells aws/dynamodb from the bank's own key.
		k, err := keys.describe(ctx, t.KeyARN)
		t.KeyManager, t.KeyUnresolved = k.KeyManager, err != nil
	}
	want := c.wantKey(ctx, keys)
	t.inputs(f.Inputs)
	c.finish(ctx, keys, f, evaluateTable(t, want))
	return done()
}

// ResolveKey describes a configured key name so that references to it by id
// or ARN compare equal. Without a KMS client, or when KMS cannot answer,
// only the name is known and references are compared as written.
func ResolveKey(ctx context.Context, c KMSAPI, name string) WantKey {
	ch := &Checker{KMS: c, Targets: Targets{KMSKey: name}}
	return ch.wantKey(ctx, &keyCache{c: ch, facts: map[string]*keyLookup{}})
}
