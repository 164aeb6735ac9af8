package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	kmsAlias         = "alias/AsiaAgenticSoc"
	kmsDisabledAlias = "alias/AsiaAgenticSocDisabled"
	// kmsUnknownKeyID is a well-formed key id no backend holds.
	kmsUnknownKeyID = "0b7e2f5a-9c1d-4e3f-8a6b-5d4c3b2a1f00"

	// Key ids local-kms is seeded with (the simulator derives its own).
	localKMSKeyID         = "5d2e8c4a-7b1f-4c3d-9e6a-2f8b1c0d4e7a"
	localKMSDisabledKeyID = "8a1f3e6c-2d4b-4f7a-b5c9-0e3d6a2b8f1c"
)

// kmsBackend is one KMS implementation with the two keys every case uses:
// an enabled, rotating customer key behind kmsAlias and a disabled one
// behind kmsDisabledAlias.
type kmsBackend struct {
	name   string
	client *kms.Client
	keyID  string // of kmsAlias, as the backend reports it
	keyARN string
}

func (b *kmsBackend) Name() string { return b.name }

// kmsBackends starts the simulator and local-kms with the same two keys.
func kmsBackends(t *testing.T) []*kmsBackend {
	t.Helper()
	return []*kmsBackend{simKMS(t), localKMS(t)}
}

func simKMS(t *testing.T) *kmsBackend {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{Region: region, AccountID: account, Keys: []string{kmsAlias, kmsDisabledAlias}})
	// The simulator has no DisableKey; a state fault is how it models a
	// key someone disabled.
	sim.AddFault(awssim.Fault{Service: "kms", Resource: kmsDisabledAlias, State: "Disabled"})
	b := &kmsBackend{name: "sim", client: newClients(t, url).KMS}
	b.resolve(t)
	return b
}

// localKMSSeed creates the two keys and their aliases. NextKeyRotation turns
// rotation on for the first key (local-kms has no other way to seed it).
const localKMSSeed = `Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: %[1]s
          Description: socmond conformance key
        NextKeyRotation: "%[3]s"
        BackingKeys:
          - 34743777217A25432A46294A404E635266556A586E3272357538782F413F4428
      - Metadata:
          KeyId: %[2]s
          Description: socmond conformance key, disabled
        BackingKeys:
          - 614E645267556B58703273357638792F423F4528472B4B6250655368566D5971
Aliases:
  - AliasName: %[4]s
    TargetKeyId: %[1]s
  - AliasName: %[5]s
    TargetKeyId: %[2]s
`

func localKMS(t *testing.T) *kmsBackend {
	t.Helper()
	bin := testenv.Tool(t, "local-kms")
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	nextRotation := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	yaml := fmt.Sprintf(localKMSSeed, localKMSKeyID, localKMSDisabledKeyID, nextRotation, kmsAlias, kmsDisabledAlias)
	if err := os.WriteFile(seed, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	addr := testenv.Addr(port)
	testenv.Start(t, addr, []string{
		fmt.Sprintf("PORT=%d", port),
		"KMS_REGION=" + region,
		"KMS_ACCOUNT_ID=" + account,
		"KMS_SEED_PATH=" + seed,
		// Its own store: the default, /tmp/local-kms, would keep the
		// disabled key across runs and collide with a parallel instance.
		"KMS_DATA_PATH=" + filepath.Join(dir, "data"),
	}, bin)
	b := &kmsBackend{name: "local-kms", client: newClients(t, "http://"+addr).KMS}
	// DisableKey takes a key id or ARN, not an alias, on AWS as here.
	if _, err := b.client.DisableKey(callCtx(t), &kms.DisableKeyInput{KeyId: aws.String(localKMSDisabledKeyID)}); err != nil {
		t.Fatalf("local-kms DisableKey: %v", err)
	}
	b.resolve(t)
	if b.keyID != localKMSKeyID {
		t.Fatalf("local-kms: %s points at %s, want the seeded %s", kmsAlias, b.keyID, localKMSKeyID)
	}
	return b
}

// resolve learns the key id and ARN behind kmsAlias the way an operator
// would: DescribeKey on the alias.
func (b *kmsBackend) resolve(t *testing.T) {
	t.Helper()
	out, err := b.client.DescribeKey(callCtx(t), &kms.DescribeKeyInput{KeyId: aws.String(kmsAlias)})
	if err != nil {
		t.Fatalf("%s: DescribeKey %s: %v", b.name, kmsAlias, err)
	}
	if out.KeyMetadata == nil || out.KeyMetadata.KeyId == nil || out.KeyMetadata.Arn == nil {
		t.Fatalf("%s: DescribeKey %s: no KeyId/Arn in %+v", b.name, kmsAlias, out.KeyMetadata)
	}
	b.keyID, b.keyARN = *out.KeyMetadata.KeyId, *out.KeyMetadata.Arn
}

// TestKMS runs every KMS case against one simulator and one local-kms; the
// cases only read, so they can share the backends.
func TestKMS(t *testing.T) {
	t.Parallel()
	backends := kmsBackends(t)
	t.Run("probe", func(t *testing.T) { testKMSKeyProbe(t, backends) })
	t.Run("metadata", func(t *testing.T) { testKMSKeyMetadata(t, backends) })
	t.Run("rotation", func(t *testing.T) { testKMSRotationStatus(t, backends) })
}

func testKMSKeyProbe(t *testing.T, backends []*kmsBackend) {
	healthy := expect{Status: probes.Healthy, Detail: "KeyState Enabled"}
	notFound := expect{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "NotFoundException"}
	cases := []struct {
		name string
		key  func(b *kmsBackend) string
		want expect
	}{
		{"enabled key by alias", func(*kmsBackend) string { return kmsAlias }, healthy},
		{"enabled key by key id", func(b *kmsBackend) string { return b.keyID }, healthy},
		{"enabled key by key ARN", func(b *kmsBackend) string { return b.keyARN }, healthy},
		{"enabled key by alias ARN", func(*kmsBackend) string {
			return "arn:aws:kms:" + region + ":" + account + ":" + kmsAlias
		}, healthy},
		{"unknown alias", func(*kmsBackend) string { return "alias/NoSuchSocKey" }, notFound},
		{"unknown key id", func(*kmsBackend) string { return kmsUnknownKeyID }, notFound},
		// DescribeKey answers for a disabled key (only cryptographic calls
		// refuse it), so the verdict comes from KeyMetadata.KeyState and
		// there is no error code.
		{"disabled key", func(*kmsBackend) string { return kmsDisabledAlias },
			expect{Status: probes.Unavailable, Class: probes.ClassInvalidState, Detail: "KeyState Disabled"}},
	}
	for _, tc := range cases {
		probeOnEach(t, tc.name, backends, tc.want, func(t *testing.T, b *kmsBackend) probes.Probe {
			return probes.NewKMSKey(b.client, tc.key(b))
		})
	}
}

// keyFacts are the DescribeKey fields socmond's KMS compliance check reads.
// Origin is left out: local-kms does not set it on seeded keys (AWS says
// AWS_KMS), so the simulator's value is checked against AWS alone.
type keyFacts struct {
	KeyState   string
	Enabled    bool
	KeyManager string
	KeySpec    string
	KeyUsage   string
	Account    string
	ARNIsKeys  bool // Arn == arn:aws:kms:<region>:<account>:key/<KeyId>
}

func testKMSKeyMetadata(t *testing.T, backends []*kmsBackend) {
	for _, tc := range []struct {
		alias string
		want  keyFacts
	}{
		{kmsAlias, keyFacts{"Enabled", true, "CUSTOMER", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", account, true}},
		{kmsDisabledAlias, keyFacts{"Disabled", false, "CUSTOMER", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", account, true}},
	} {
		onEach(t, "DescribeKey "+tc.alias, backends, func(t *testing.T, b *kmsBackend) keyFacts {
			out, err := b.client.DescribeKey(callCtx(t), &kms.DescribeKeyInput{KeyId: aws.String(tc.alias)})
			if err != nil {
				t.Fatalf("DescribeKey: %v", err)
			}
			m := out.KeyMetadata
			got := keyFacts{
				KeyState:   string(m.KeyState),
				Enabled:    m.Enabled,
				KeyManager: string(m.KeyManager),
				KeySpec:    string(m.KeySpec),
				KeyUsage:   string(m.KeyUsage),
				Account:    aws.ToString(m.AWSAccountId),
				ARNIsKeys:  aws.ToString(m.Arn) == "arn:aws:kms:"+region+":"+account+":key/"+aws.ToString(m.KeyId),
			}
			if got != tc.want {
				t.Errorf("DescribeKey %s:\n  got  %+v\n  want %+v", tc.alias, got, tc.want)
			}
			if b.name == "sim" && m.Origin != "AWS_KMS" {
				t.Errorf("Origin = %q, want AWS_KMS", m.Origin)
			}
			return got
		})
	}
}

// testKMSRotationStatus compares the raw GetKeyRotationStatus answer for the
// enabled, rotating key: socmond's rotation compliance check reads it.
// GetKeyRotationStatus takes a key id or key ARN, not an alias.
func testKMSRotationStatus(t *testing.T, backends []*kmsBackend) {
	for _, by := range []struct {
		name string
		key  func(b *kmsBackend) string
	}{
		{"key id", func(b *kmsBackend) string { return b.keyID }},
		{"key ARN", func(b *kmsBackend) string { return b.keyARN }},
	} {
		onEach(t, "GetKeyRotationStatus by "+by.name, backends, func(t *testing.T, b *kmsBackend) bool {
			out, err := b.client.GetKeyRotationStatus(callCtx(t), &kms.GetKeyRotationStatusInput{KeyId: aws.String(by.key(b))})
			if err != nil {
				t.Fatalf("GetKeyRotationStatus: %v", err)
			}
			if !out.KeyRotationEnabled {
				t.Errorf("KeyRotationEnabled = false for a key with rotation on")
			}
			// local-kms answers only KeyRotationEnabled (known gap: no
			// RotationPeriodInDays, KeyId or NextRotationDate), so the rest
			// is checked on the simulator against AWS: a rotating key
			// reports its period (default 365 days), its ARN and the next
			// rotation date.
			if b.name == "sim" {
				if got := aws.ToInt32(out.RotationPeriodInDays); got != 365 {
					t.Errorf("RotationPeriodInDays = %d, want 365", got)
				}
				if got := aws.ToString(out.KeyId); got != b.keyARN {
					t.Errorf("KeyId = %q, want the key ARN %q", got, b.keyARN)
				}
				if out.NextRotationDate == nil || !out.NextRotationDate.After(time.Now()) {
					t.Errorf("NextRotationDate = %v, want a date in the future", out.NextRotationDate)
				}
			}
			return out.KeyRotationEnabled
		})
	}
}
