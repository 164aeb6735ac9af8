package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestKMSDescribeKey(t *testing.T) {
	e := start(t, testSeed())
	c := e.kms()
	base, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/AsiaAgenticSoc")})
	if err != nil {
		t.Fatal(err)
	}
	md := base.KeyMetadata
	if md.KeyState != types.KeyStateEnabled || !md.Enabled || md.KeyManager != types.KeyManagerTypeCustomer ||
		md.KeySpec != types.KeySpecSymmetricDefault || md.CreationDate == nil {
		t.Fatalf("metadata %+v", md)
	}
	if aws.ToString(md.Arn) != e.sim.def.kms().firstKeyARN() {
		t.Fatalf("alias key %s is not the first seeded key %s", aws.ToString(md.Arn), e.sim.def.kms().firstKeyARN())
	}
	id := aws.ToString(md.KeyId)
	for _, name := range []string{id, aws.ToString(md.Arn), "arn:aws:kms:us-east-1:123456789012:alias/AsiaAgenticSoc"} {
		out, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String(name)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if aws.ToString(out.KeyMetadata.KeyId) != id {
			t.Fatalf("%s resolved to %s, want %s", name, aws.ToString(out.KeyMetadata.KeyId), id)
		}
	}
	managed, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})
	if err != nil || managed.KeyMetadata.KeyManager != types.KeyManagerTypeAws {
		t.Fatalf("alias/aws/s3: %+v %v", managed, err)
	}
	for _, missing := range []string{"alias/nope", "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:eu-west-1:123456789012:key/" + id} {
		_, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String(missing)})
		wantAPIErr(t, err, "NotFoundException", 400)
	}
}

func TestKMSGetKeyRotationStatus(t *testing.T) {
	e := start(t, testSeed())
	c := e.kms()
	d, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/AsiaAgenticSoc")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: d.KeyMetadata.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if !out.KeyRotationEnabled || aws.ToInt32(out.RotationPeriodInDays) != 365 || out.NextRotationDate == nil || aws.ToString(out.KeyId) != aws.ToString(d.KeyMetadata.Arn) {
		t.Fatalf("rotation %+v", out)
	}
	// KMS does not take aliases for this operation.
	_, err = c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: aws.String("alias/AsiaAgenticSoc")})
	wantAPIErr(t, err, "NotFoundException", 400)

	e.sim.AddFault(Fault{Service: "kms", Resource: "alias/AsiaAgenticSoc", State: "PendingDeletion"})
	out, err = c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: d.KeyMetadata.Arn})
	if err != nil || out.KeyRotationEnabled {
		t.Fatalf("pending deletion key: %+v %v", out, err)
	}
}

func TestKMSFaults(t *testing.T) {
	tests := map[string]struct {
		fault      Fault
		request    string
		wantCode   string
		wantStatus int
		wantState  types.KeyState
		malformed  bool
	}{
		"throttled":                  {fault: Fault{Service: "kms", Error: "ThrottlingException"}, request: "alias/AsiaAgenticSoc", wantCode: "ThrottlingException", wantStatus: 400},
		"access denied":              {fault: Fault{Service: "kms", Error: "AccessDeniedException"}, request: "alias/AsiaAgenticSoc", wantCode: "AccessDeniedException", wantStatus: 400},
		"invalid state":              {fault: Fault{Service: "kms", Error: "KMSInvalidStateException"}, request: "alias/AsiaAgenticSoc", wantCode: "KMSInvalidStateException", wantStatus: 409},
		"internal":                   {fault: Fault{Service: "kms", Error: "KMSInternalException"}, request: "alias/AsiaAgenticSoc", wantCode: "KMSInternalException", wantStatus: 500},
		"disabled via alias":         {fault: Fault{Service: "kms", Resource: "alias/AsiaAgenticSoc", State: "Disabled"}, request: "alias/AsiaAgenticSoc", wantState: types.KeyStateDisabled},
		"fault on alias, ask by ARN": {fault: Fault{Service: "kms", Resource: "alias/AsiaAgenticSoc", State: "PendingDeletion"}, request: "arn", wantState: types.KeyStatePendingDeletion},
		"fault on ARN, ask by alias": {fault: Fault{Service: "kms", Resource: "arn", State: "Unavailable"}, request: "alias/AsiaAgenticSoc", wantState: types.KeyStateUnavailable},
		"fault on other key":         {fault: Fault{Service: "kms", Resource: "alias/aws/s3", State: "Disabled"}, request: "alias/AsiaAgenticSoc", wantState: types.KeyStateEnabled},
		"malformed":                  {fault: Fault{Service: "kms", Malformed: true}, request: "alias/AsiaAgenticSoc", malformed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := start(t, testSeed())
			arn := e.sim.def.kms().firstKeyARN()
			if tc.fault.Resource == "arn" {
				tc.fault.Resource = arn
			}
			if tc.request == "arn" {
				tc.request = arn
			}
			e.sim.AddFault(tc.fault)
			out, err := e.kms().DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String(tc.request)})
			switch {
			case tc.malformed:
				wantDeserializationErr(t, err)
			case tc.wantCode != "":
				wantAPIErr(t, err, tc.wantCode, tc.wantStatus)
			default:
				if err != nil {
					t.Fatal(err)
				}
				md := out.KeyMetadata
				if md.KeyState != tc.wantState || md.Enabled != (tc.wantState == types.KeyStateEnabled) {
					t.Fatalf("state %s enabled %t, want %s", md.KeyState, md.Enabled, tc.wantState)
				}
			}
		})
	}
}
