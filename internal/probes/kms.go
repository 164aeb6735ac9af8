package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// ServiceKMS is AWS KMS's label value.
const ServiceKMS = "kms"

// KMS is AWS KMS: the pipeline's customer-managed key.
var KMS = Service{
	Name: ServiceKMS, DisplayName: "AWS KMS", Resources: "key ids, key ARNs, aliases or alias ARNs",
	Example: "alias/soc-pipeline",
	New:     func(c *awsclient.Clients, r Resource) Probe { return NewKMSKey(c.KMS, r.Name) },
	Read:    Access{Sid: "ReadKMSKey", Actions: []string{"kms:DescribeKey"}, ARN: KeyARN},
	Env:     []EnvVar{{Name: "KMS_KEY_ID", Role: "kms_key"}},
}

// KeyARN scopes a KMS key named by id, key ARN, alias or alias ARN. An alias
// cannot be an IAM resource for key operations, so it becomes "any key of
// this account" narrowed by the kms:ResourceAliases condition — AWS's own
// way of granting access to a key by its alias.
func KeyARN(s Scope, name string) Grant {
	alias := ""
	switch {
	case strings.HasPrefix(name, "arn:") && strings.Contains(name, ":alias/"):
		alias = name[strings.Index(name, ":alias/")+1:]
	case strings.HasPrefix(name, "arn:"):
		return Grant{Resource: name}
	case strings.HasPrefix(name, "alias/"):
		alias = name
	default:
		return Grant{Resource: s.ARN("kms", "key/"+name)}
	}
	return Grant{Resource: s.ARN("kms", "key/*"), SidSuffix: "ByAlias",
		Condition: map[string]map[string][]string{"ForAnyValue:StringEquals": {"kms:ResourceAliases": {alias}}}}
}

// KMSAPI is the part of the KMS client the key probe uses.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

type kmsKey struct {
	c     KMSAPI
	keyID string
}

// NewKMSKey probes a key (id, ARN or alias/…) with DescribeKey.
func NewKMSKey(c KMSAPI, keyID string) Probe {
	return &kmsKey{c: c, keyID: keyID}
}

func (p *kmsKey) Target() Target { return Target{Service: ServiceKMS, Resource: p.keyID} }

func (p *kmsKey) Check(ctx context.Context) Observation {
	obs := Observation{Check: "DescribeKey"}
	out, err := p.c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(p.keyID)},
		func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.KeyMetadata == nil {
		return invalid(obs, Degraded, "response had no KeyMetadata", "")
	}
	m := out.KeyMetadata
	obs.Detail = "KeyState " + string(m.KeyState)
	switch m.KeyState {
	case types.KeyStateEnabled:
		obs.Status = Healthy
		return obs
	case types.KeyStateCreating, types.KeyStateUpdating, types.KeyStatePendingReplicaDeletion:
		return invalid(obs, Degraded, obs.Detail,
			"The key is changing state (being created, updated or losing a replica); it should settle by itself. If it does not, check recent KMS calls on it in CloudTrail")
	case types.KeyStateDisabled:
		return invalid(obs, Unavailable, obs.Detail,
			"The key is disabled, so every table, bucket and secret encrypted with it fails: enable it (kms:EnableKey) and find who disabled it in CloudTrail (DisableKey)")
	case types.KeyStatePendingDeletion:
		detail := obs.Detail
		when := "before its deletion date"
		if m.DeletionDate != nil {
			d := m.DeletionDate.UTC().Format(time.RFC3339)
			detail += ", deletion on " + d
			when = "before " + d
		}
		return invalid(obs, Unavailable, detail,
			fmt.Sprintf("The key is scheduled for deletion: cancel it (kms:CancelKeyDeletion) %s and then enable the key again; once deleted, data encrypted with it is lost", when))
	case types.KeyStatePendingImport:
		return invalid(obs, Unavailable, obs.Detail,
			"The key has no key material: import it (kms:ImportKeyMaterial), or re-import it if the imported material expired")
	case types.KeyStateUnavailable:
		return invalid(obs, Unavailable, obs.Detail,
			"The key's custom key store is disconnected: reconnect the key store (kms:ConnectCustomKeyStore) and check its CloudHSM cluster or external key manager")
	}
	return invalid(obs, Degraded, "unknown "+obs.Detail, "")
}

func (p *kmsKey) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "KMS",
		action:   "kms:DescribeKey",
		resource: "key " + p.keyID,
		notFound: fmt.Sprintf("Key %s was not found: check the key id, ARN or alias and the region %s; an alias may point nowhere after its key was deleted", p.keyID, regionOf(place)),
	}
	switch {
	case class == ClassAuth:
		return fmt.Sprintf("socmond may not describe key %s: check the key policy grants kms:DescribeKey to %s (a key policy must allow it as well as IAM), and check the role's credentials are present and not expired", p.keyID, roleOf(place))
	case code == "KMSInvalidStateException":
		return fmt.Sprintf("Key %s is in a state that refuses this call (disabled, pending deletion or import): check its state in the KMS console and enable it or cancel its deletion", p.keyID)
	case code == "LimitExceededException":
		return "KMS refused a call over an account quota (LimitExceededException is a hard limit here, not a passing throttle): check KMS request quotas in Service Quotas and other consumers in the account"
	}
	return a.hint(class)
}
