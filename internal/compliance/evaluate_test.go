package compliance

import (
	"strings"
	"testing"
	"time"
)

// Every branch of every pure evaluation, with the words a person acts on.
// Every FAIL carries a hint (the remediation): it is the hint annotation of
// the ComplianceViolation page.

// checkHint fails t when a FAIL or an UNKNOWN has no hint, or a PASS or
// NOT_APPLICABLE has one.
func checkHint(t *testing.T, v Verdict, hint string) {
	t.Helper()
	if (v == Fail || v == Unknown) != (hint != "") {
		t.Errorf("%s with hint %q: every FAIL and UNKNOWN, and nothing else, says what to do", v, hint)
	}
}

func TestEvaluateKeyRotation(t *testing.T) {
	ok := KeyFacts{KeyID: "k1", KeyState: "Enabled", Enabled: true, KeyManager: "CUSTOMER", KeySpec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS",
		RotationKnown: true, RotationEnabled: true, RotationDays: 365, NextRotation: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	with := func(f func(*KeyFacts)) KeyFacts { k := ok; f(&k); return k }
	cases := map[string]struct {
		k      KeyFacts
		want   Verdict
		reason string
	}{
		"rotating customer key": {ok, Pass, "every 365 days, next on 2027-03-01"},
		"aws-managed":           {with(func(k *KeyFacts) { k.KeyManager = "AWS" }), NotApplicable, "AWS-managed"},
		"asymmetric":            {with(func(k *KeyFacts) { k.KeySpec = "RSA_2048" }), NotApplicable, "RSA_2048 cannot rotate"},
		"hmac":                  {with(func(k *KeyFacts) { k.KeySpec = "HMAC_256" }), NotApplicable, "HMAC_256"},
		"imported material":     {with(func(k *KeyFacts) { k.Origin = "EXTERNAL" }), NotApplicable, "imported key material"},
		"custom key store":      {with(func(k *KeyFacts) { k.Origin = "AWS_CLOUDHSM" }), NotApplicable, "custom key store"},
		"disabled":              {with(func(k *KeyFacts) { k.KeyState, k.Enabled = "Disabled", false }), Fail, "Disabled, not Enabled"},
		"pending deletion":      {with(func(k *KeyFacts) { k.KeyState, k.Enabled = "PendingDeletion", false }), Fail, "PendingDeletion"},
		"rotation off":          {with(func(k *KeyFacts) { k.RotationEnabled = false }), Fail, "automatic key rotation is off"},
		"rotation not answered": {with(func(k *KeyFacts) { k.RotationKnown = false }), Unknown, "unknown"},
		"rotating, no period":   {with(func(k *KeyFacts) { k.RotationDays, k.NextRotation = 0, time.Time{} }), Pass, "automatic rotation on"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, reason, hint := EvaluateKeyRotation(tc.k)
			checkHint(t, v, hint)
			if v != tc.want || !strings.Contains(reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", v, reason, tc.want, tc.reason)
			}
		})
	}
}

const (
	cmkARN = "arn:aws:kms:us-east-1:123456789012:key/1111"
	awsARN = "arn:aws:kms:us-east-1:123456789012:key/2222"
)

var want = WantKey{Name: "alias/AsiaAgenticSoc", KeyID: "1111", ARN: cmkARN}

func TestEvaluateTableEncryption(t *testing.T) {
	ok := TableFacts{SSEPresent: true, Status: "ENABLED", SSEType: "KMS", KeyARN: cmkARN, KeyManager: "CUSTOMER"}
	with := func(f func(*TableFacts)) TableFacts { x := ok; f(&x); return x }
	since := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		t      TableFacts
		want   WantKey
		v      Verdict
		reason string
	}{
		"configured cmk":        {ok, want, Pass, "customer-managed key " + cmkARN},
		"no key configured":     {ok, WantKey{}, Pass, cmkARN},
		"aws-owned":             {TableFacts{}, want, Fail, "AWS-owned key"},
		"inaccessible":          {with(func(x *TableFacts) { x.InaccessibleSince = since }), want, Fail, "KMS KEY INACCESSIBLE since 2026-11-20T08:00:00Z: DynamoDB cannot read or write the table and ARCHIVES it after 7 days (by 2026-11-27T08:00:00Z)"},
		"updating":              {with(func(x *TableFacts) { x.Status = "UPDATING" }), want, Fail, "UPDATING, not ENABLED"},
		"not kms":               {with(func(x *TableFacts) { x.SSEType = "AES256" }), want, Fail, "SSEType is AES256"},
		"aws-managed key":       {with(func(x *TableFacts) { x.KeyARN, x.KeyManager = awsARN, "AWS" }), want, Fail, "AWS-managed key (aws/dynamodb)"},
		"other cmk":             {with(func(x *TableFacts) { x.KeyARN = awsARN }), want, Fail, "not the configured key alias/AsiaAgenticSoc"},
		"unknown manager":       {with(func(x *TableFacts) { x.KeyManager = "" }), WantKey{}, Fail, "could not be read"},
		"unresolved, same name": {ok, WantKey{Name: cmkARN}, Pass, cmkARN},
		"configured key unresolved": {ok, WantKey{Name: "alias/AsiaAgenticSoc", Unresolved: true}, Unknown,
			"could not tell whether " + cmkARN + " is the configured key alias/AsiaAgenticSoc"},
		"configured key unresolved, same ARN": {ok, WantKey{Name: cmkARN, Unresolved: true}, Pass, cmkARN},
		"configured key unresolved, aws-managed": {with(func(x *TableFacts) { x.KeyARN, x.KeyManager = awsARN, "AWS" }),
			WantKey{Name: "alias/AsiaAgenticSoc", Unresolved: true}, Fail, "AWS-managed key"},
		"key manager unresolved": {with(func(x *TableFacts) { x.KeyManager, x.KeyUnresolved = "", true }), WantKey{}, Unknown, "whose key manager KMS did not say"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, reason, hint := EvaluateTableEncryption(tc.t, tc.want)
			checkHint(t, v, hint)
			if v != tc.v || !strings.Contains(reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", v, reason, tc.v, tc.reason)
			}
		})
	}
}

func TestEvaluateBucketEncryption(t *testing.T) {
	ok := BucketEncryptionFacts{Configured: true, Algorithm: "aws:kms", KeyID: cmkARN, BucketKey: true}
	with := func(f func(*BucketEncryptionFacts)) BucketEncryptionFacts { x := ok; f(&x); return x }
	cases := map[string]struct {
		b      BucketEncryptionFacts
		want   WantKey
		v      Verdict
		reason string
	}{
		"kms with cmk":          {ok, want, Pass, "aws:kms with " + cmkARN + ", S3 Bucket Keys on"},
		"dsse, bucket keys off": {with(func(x *BucketEncryptionFacts) { x.Algorithm, x.BucketKey = "aws:kms:dsse", false }), want, Pass, "S3 Bucket Keys off"},
		"key by id":             {with(func(x *BucketEncryptionFacts) { x.KeyID = "1111" }), want, Pass, "aws:kms"},
		"key by alias":          {with(func(x *BucketEncryptionFacts) { x.KeyID = "alias/AsiaAgenticSoc" }), want, Pass, "aws:kms"},
		"minio key name":        {with(func(x *BucketEncryptionFacts) { x.KeyID = "arn:aws:kms:soc-key" }), WantKey{Name: "soc-key"}, Pass, "aws:kms"},
		"minio, other key":      {with(func(x *BucketEncryptionFacts) { x.KeyID = "arn:aws:kms:other" }), WantKey{Name: "soc-key"}, Fail, "not the configured key soc-key"},
		"another alias, resolved to the key": {with(func(x *BucketEncryptionFacts) { x.KeyID, x.KeyARN = "alias/SocPipeline", cmkARN }), want, Pass,
			"aws:kms with alias/SocPipeline"},
		"resolved to another key": {with(func(x *BucketEncryptionFacts) { x.KeyID, x.KeyARN = "alias/Other", awsARN }), want, Fail, "not the configured key"},
		"a key KMS does not know": {with(func(x *BucketEncryptionFacts) { x.KeyID, x.KeyLookup = "alias/Gone", "NotFoundException" }), want, Fail,
			"not the configured key alias/AsiaAgenticSoc (DescribeKey on it: NotFoundException)"},
		"bucket key unresolved": {with(func(x *BucketEncryptionFacts) { x.KeyID, x.KeyUnresolved = "alias/Other", true }), want, Unknown,
			"could not tell whether alias/Other is the configured key"},
		"configured key unresolved": {with(func(x *BucketEncryptionFacts) { x.KeyID, x.KeyARN = "alias/Other", awsARN }),
			WantKey{Name: "alias/AsiaAgenticSoc", Unresolved: true}, Unknown, "KMS did not resolve the configured key"},
		"no configuration":  {BucketEncryptionFacts{}, want, Fail, "ServerSideEncryptionConfigurationNotFoundError"},
		"sse-s3":            {with(func(x *BucketEncryptionFacts) { x.Algorithm, x.KeyID = "AES256", "" }), want, Fail, "AES256 (SSE-S3"},
		"unknown algorithm": {with(func(x *BucketEncryptionFacts) { x.Algorithm = "weird" }), want, Fail, `"weird" is not aws:kms`},
		"aws/s3 key":        {with(func(x *BucketEncryptionFacts) { x.KeyID = "" }), want, Fail, "AWS-managed aws/s3 key"},
		"other key":         {with(func(x *BucketEncryptionFacts) { x.KeyID = awsARN }), want, Fail, "not the configured key"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, reason, hint := EvaluateBucketEncryption(tc.b, tc.want)
			checkHint(t, v, hint)
			if v != tc.v || !strings.Contains(reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", v, reason, tc.v, tc.reason)
			}
		})
	}
}

func TestEvaluateObjectLock(t *testing.T) {
	ok := ObjectLockFacts{Configured: true, Enabled: "Enabled", HasRule: true, Mode: "COMPLIANCE", Years: 7}
	with := func(f func(*ObjectLockFacts)) ObjectLockFacts { x := ok; f(&x); return x }
	cases := map[string]struct {
		l      ObjectLockFacts
		min    Retention
		v      Verdict
		reason string
	}{
		"7 years":              {ok, DefaultRetention, Pass, "COMPLIANCE 7 years"},
		"2557 days":            {with(func(x *ObjectLockFacts) { x.Years, x.Days = 0, 2557 }), DefaultRetention, Pass, "2557 days"},
		"10 years":             {with(func(x *ObjectLockFacts) { x.Years = 10 }), DefaultRetention, Pass, "10 years"},
		"2555 days":            {with(func(x *ObjectLockFacts) { x.Years, x.Days = 0, 2555 }), DefaultRetention, Fail, "2555 days, shorter than the required 7 years (2557 days)"},
		"6 years":              {with(func(x *ObjectLockFacts) { x.Years = 6 }), DefaultRetention, Fail, "shorter"},
		"governance":           {with(func(x *ObjectLockFacts) { x.Mode = "GOVERNANCE" }), DefaultRetention, Fail, "s3:BypassGovernanceRetention"},
		"no rule":              {with(func(x *ObjectLockFacts) { x.HasRule, x.Mode, x.Years = false, "", 0 }), DefaultRetention, Fail, "no default retention rule"},
		"not enabled":          {ObjectLockFacts{}, DefaultRetention, Fail, "ObjectLockConfigurationNotFoundError"},
		"min in days, years":   {ok, Retention{Days: 2556}, Pass, "7 years"}, // 7 years hold at least 2556 days
		"min in days, short":   {with(func(x *ObjectLockFacts) { x.Years, x.Days = 0, 30 }), Retention{Days: 90}, Fail, "30 days"},
		"min in days, 1 year":  {with(func(x *ObjectLockFacts) { x.Years = 1 }), Retention{Days: 365}, Pass, "1 years"},
		"min 1 year, 365 days": {with(func(x *ObjectLockFacts) { x.Years, x.Days = 0, 365 }), Retention{Years: 1}, Fail, "366 days"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, reason, hint := EvaluateObjectLock(tc.l, tc.min)
			checkHint(t, v, hint)
			if v != tc.v || !strings.Contains(reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", v, reason, tc.v, tc.reason)
			}
		})
	}
}

func TestRetentionMinDays(t *testing.T) {
	for _, tc := range []struct {
		r    Retention
		want int
	}{{Retention{Years: 7}, 2557}, {Retention{Years: 1}, 366}, {Retention{Years: 4}, 1461}, {Retention{Days: 90}, 90}} {
		if got := tc.r.MinDays(); got != tc.want {
			t.Errorf("%v.MinDays() = %d, want %d", tc.r, got, tc.want)
		}
	}
}

// TestHintsNameTheCommand: the hint is the command that restores the
// setting, for the resource the finding is about and the configured key.
func TestHintsNameTheCommand(t *testing.T) {
	cases := map[string]struct {
		hint string
		want []string
	}{
		"rotation off": {third(EvaluateKeyRotation(KeyFacts{KeyID: "k1", KeyState: "Enabled", Enabled: true, KeyManager: "CUSTOMER",
			KeySpec: "SYMMETRIC_DEFAULT", RotationKnown: true})), []string{"`aws kms enable-key-rotation --key-id k1`"}},
		"key pending deletion": {third(EvaluateKeyRotation(KeyFacts{KeyID: "k1", KeyState: "PendingDeletion"})),
			[]string{"aws kms cancel-key-deletion --key-id k1", "aws kms enable-key --key-id k1"}},
		"table on another key": {third(EvaluateTableEncryption(TableFacts{Table: "T", SSEPresent: true, Status: "ENABLED", SSEType: "KMS",
			KeyARN: awsARN, KeyManager: "CUSTOMER"}, want)), []string{"aws dynamodb update-table --table-name T --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=" + cmkARN}},
		"table key unresolved": {third(EvaluateTableEncryption(TableFacts{Table: "T"}, WantKey{Name: "alias/AsiaAgenticSoc"})),
			[]string{"KMSMasterKeyId=alias/AsiaAgenticSoc"}},
		"bucket sse-s3": {third(EvaluateBucketEncryption(BucketEncryptionFacts{Bucket: "B", Configured: true, Algorithm: "AES256"}, want)),
			[]string{`aws s3api put-bucket-encryption --bucket B`, `"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"` + cmkARN + `"`, "objects already stored"}},
		"governance": {third(EvaluateObjectLock(ObjectLockFacts{Bucket: "A", Configured: true, Enabled: "Enabled", HasRule: true, Mode: "GOVERNANCE", Years: 7}, DefaultRetention)),
			[]string{"aws s3api put-object-lock-configuration --bucket A", `"Mode":"COMPLIANCE","Years":7`, "cannot be shortened"}},
		"no lock, days": {third(EvaluateObjectLock(ObjectLockFacts{Bucket: "A"}, Retention{Days: 2557})),
			[]string{"put-bucket-versioning --bucket A", `"Mode":"COMPLIANCE","Days":2557`}},
	}
	for name, tc := range cases {
		for _, w := range tc.want {
			if !strings.Contains(tc.hint, w) {
				t.Errorf("%s: hint %q lacks %q", name, tc.hint, w)
			}
		}
	}
}

func third(_ Verdict, _, hint string) string { return hint }
