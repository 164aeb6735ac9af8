package compliance

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KeyFacts are what DescribeKey and GetKeyRotationStatus report about a key.
type KeyFacts struct {
	KeyID, ARN     string
	KeyState       string
	Enabled        bool
	KeyManager     string // CUSTOMER or AWS
	KeySpec        string // SYMMETRIC_DEFAULT, RSA_2048, HMAC_256, …
	Origin         string // AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE
	CustomKeyStore string

	RotationKnown   bool // GetKeyRotationStatus was called and answered
	RotationEnabled bool
	RotationDays    int32     // 0 when AWS did not say
	NextRotation    time.Time // zero when AWS did not say
}

func keyFactsFrom(m *kmstypes.KeyMetadata) KeyFacts {
	return KeyFacts{
		KeyID: aws.ToString(m.KeyId), ARN: aws.ToString(m.Arn),
		KeyState: string(m.KeyState), Enabled: m.Enabled,
		KeyManager: string(m.KeyManager), KeySpec: string(m.KeySpec),
		Origin: string(m.Origin), CustomKeyStore: aws.ToString(m.CustomKeyStoreId),
	}
}

// rotationUnsupported says why KMS cannot rotate a key automatically, or "".
// AWS rotates AWS-managed keys itself; asymmetric and HMAC keys, imported
// material and custom key stores cannot rotate (aws-api.md §3).
func rotationUnsupported(k KeyFacts) string {
	switch {
	case k.KeyManager == "AWS":
		return "the key is AWS-managed: AWS rotates it every year and no one can configure it; the pipeline should use its own customer-managed key"
	case k.KeySpec != "" && k.KeySpec != "SYMMETRIC_DEFAULT":
		return "key spec " + k.KeySpec + " cannot rotate automatically (only SYMMETRIC_DEFAULT keys can); rotate it manually by creating a new key and moving the alias"
	case k.Origin == "EXTERNAL":
		return "the key uses imported key material, which KMS cannot rotate; rotate it manually by importing new material into a new key"
	case k.Origin == "AWS_CLOUDHSM" || k.Origin == "EXTERNAL_KEY_STORE" || k.CustomKeyStore != "":
		return "the key lives in a custom key store, which KMS cannot rotate automatically; rotate it manually"
	}
	return ""
}

// EvaluateKeyRotation decides kms_key_rotation from what was fetched; hint
// is what to do about a FAIL.
func EvaluateKeyRotation(k KeyFacts) (v Verdict, reason, hint string) {
	o := evaluateKeyRotation(k)
	return o.verdict, o.reason, o.hint
}

// ref is how a command should name the key: its id, as the reasons do.
func (k KeyFacts) ref() string {
	if k.KeyID != "" {
		return k.KeyID
	}
	return k.ARN
}

func evaluateKeyRotation(k KeyFacts) outcome {
	if why := rotationUnsupported(k); why != "" {
		return notApplicable("%s", why)
	}
	if k.KeyState != "Enabled" || !k.Enabled {
		o := fail("key state is %s, not Enabled: data encrypted under it cannot be read or written", k.KeyState)
		if k.KeyState == "PendingDeletion" {
			return o.fix("cancel the deletion, then enable the key: `aws kms cancel-key-deletion --key-id %[1]s && aws kms enable-key --key-id %[1]s`", k.ref())
		}
		return o.fix("enable the key: `aws kms enable-key --key-id %s` (a key in PendingImport needs its key material imported, one Unavailable its custom key store reconnected)", k.ref())
	}
	if !k.RotationKnown {
		return unknown("rotation status unknown: GetKeyRotationStatus did not answer").
			fix("read it with `aws kms get-key-rotation-status --key-id %s`; grant socmond kms:GetKeyRotationStatus on the key if that is denied", k.ref())
	}
	if !k.RotationEnabled {
		return fail("automatic key rotation is off (TM-G-1 §3.1 key management)").
			fix("turn it on with `aws kms enable-key-rotation --key-id %s`, and set it in the pipeline's infrastructure code (EnableKeyRotation) so it does not drift back", k.ref())
	}
	msg := "customer-managed symmetric key, Enabled, automatic rotation on"
	if k.RotationDays > 0 {
		msg += ", every " + strconv.Itoa(int(k.RotationDays)) + " days"
	}
	if !k.NextRotation.IsZero() {
		msg += ", next on " + k.NextRotation.UTC().Format("2006-01-02")
	}
	return pass("%s", msg)
}

func (k KeyFacts) inputs(into map[string]string) {
	set := func(name, v string) {
		if v != "" {
			into[name] = v
		}
	}
	set("KeyId", k.KeyID)
	set("Arn", k.ARN)
	set("KeyState", k.KeyState)
	set("KeyManager", k.KeyManager)
	set("KeySpec", k.KeySpec)
	set("Origin", k.Origin)
	set("CustomKeyStoreId", k.CustomKeyStore)
	if k.RotationKnown {
		into["KeyRotationEnabled"] = strconv.FormatBool(k.RotationEnabled)
	}
	if k.RotationDays > 0 {
		into["RotationPeriodInDays"] = strconv.Itoa(int(k.RotationDays))
	}
	if !k.NextRotation.IsZero() {
		into["NextRotationDate"] = ts(k.NextRotation)
	}
}

// checkKeyRotation fetches the key (DescribeKey) and, when rotation can
// apply, its rotation status (GetKeyRotationStatus takes no alias, so it
// gets the ARN DescribeKey returned).
func (c *Checker) checkKeyRotation(ctx context.Context, keys *keyCache) Finding {
	f, done := c.begin(CheckKMSRotation, c.Targets.KMSKey)
	k, err := keys.describe(ctx, c.Targets.KMSKey)
	if err != nil {
		callFailed(f, "DescribeKey", "kms:DescribeKey", err)
		return done()
	}
	if rotationUnsupported(k) == "" && k.KeyState == "Enabled" {
		cctx, cancel := c.callCtx(ctx)
		id := k.ARN
		if id == "" {
			id = k.KeyID
		}
		out, err := c.KMS.GetKeyRotationStatus(cctx, &kms.GetKeyRotationStatusInput{KeyId: &id})
		cancel()
		if err != nil {
			k.inputs(f.Inputs)
			callFailed(f, "GetKeyRotationStatus", "kms:GetKeyRotationStatus", err)
			return done()
		}
		k.RotationKnown, k.RotationEnabled = true, out.KeyRotationEnabled
		k.RotationDays = aws.ToInt32(out.RotationPeriodInDays)
		if out.NextRotationDate != nil {
			k.NextRotation = *out.NextRotationDate
		}
	}
	k.inputs(f.Inputs)
	evaluateKeyRotation(k).apply(f)
	return done()
}
