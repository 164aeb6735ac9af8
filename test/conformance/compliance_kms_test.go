package conformance_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
)

// TestComplianceKMSRotation runs the kms_key_rotation check against the
// simulator and local-kms: a rotating key passes, a disabled key fails,
// and turning rotation off (DisableKeyRotation on local-kms, a Set fault on
// the simulator) fails on the next run. Both backends must agree.
func TestComplianceKMSRotation(t *testing.T) {
	t.Parallel()
	sim, simURL := awssim.Serve(t, awssim.Seed{Region: region, AccountID: account, Keys: []string{kmsAlias, kmsDisabledAlias}})
	sim.AddFault(awssim.Fault{Service: "kms", Resource: kmsDisabledAlias, State: "Disabled"})
	simB := &kmsBackend{name: "sim", client: newClients(t, simURL).KMS}
	simB.resolve(t)
	backends := []*kmsBackend{simB, localKMS(t)}

	rotation := func(t *testing.T, b *kmsBackend, key string) compliance.Verdict {
		c := &compliance.Checker{KMS: b.client, Targets: compliance.Targets{KMSKey: key}, Timeout: probeTimeout}
		fs := c.Run(t.Context())
		if len(fs) != 1 || fs[0].Check != compliance.CheckKMSRotation {
			t.Fatalf("findings: %+v", fs)
		}
		t.Logf("%s: %s %s", b.name, fs[0].Verdict, fs[0].Reason)
		return fs[0].Verdict
	}
	expectVerdict := func(want compliance.Verdict, key string) func(t *testing.T, b *kmsBackend) compliance.Verdict {
		return func(t *testing.T, b *kmsBackend) compliance.Verdict {
			got := rotation(t, b, key)
			if got != want {
				t.Errorf("verdict %s, want %s", got, want)
			}
			return got
		}
	}
	onEach(t, "rotating key", backends, expectVerdict(compliance.Pass, kmsAlias))
	onEach(t, "disabled key", backends, expectVerdict(compliance.Fail, kmsDisabledAlias))

	// Turn rotation off on each backend its own way.
	sim.AddFault(awssim.Fault{Service: "kms", Resource: kmsAlias, Set: map[string]string{"KeyRotationEnabled": "false"}})
	lk := backends[1]
	if _, err := lk.client.DisableKeyRotation(callCtx(t), &kms.DisableKeyRotationInput{KeyId: aws.String(lk.keyID)}); err != nil {
		t.Fatalf("local-kms DisableKeyRotation: %v", err)
	}
	onEach(t, "rotation turned off", backends, expectVerdict(compliance.Fail, kmsAlias))
}
