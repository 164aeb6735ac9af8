package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kmsService is KMS (awsJson 1.1): keys, by id, ARN or alias.
var kmsService = &service{
	name: "kms", signing: "kms",
	target: "TrentService.", ops: kmsOps, resource: kmsResource,
	throttle: "ThrottlingException",
	statuses: map[string]int{
		"NotFoundException":          400,
		"AccessDeniedException":      400,
		"ThrottlingException":        400,
		"KMSInvalidStateException":   409,
		"DisabledException":          409,
		"InvalidArnException":        400,
		"LimitExceededException":     400,
		"ValidationException":        400,
		"KMSInternalException":       500,
		"DependencyTimeoutException": 503,
	},
	protocol: awsJSON("1.1", nil),
	states:   []string{"Creating", "Enabled", "Disabled", "PendingDeletion", "PendingImport", "PendingReplicaDeletion", "Unavailable", "Updating"},
	settings: map[string]func(string) error{ // applied by kmsView
		"KeyRotationEnabled":   oneOf("true", "false"),
		"KeyManager":           oneOf("CUSTOMER", "AWS"),
		"KeySpec":              oneOf("SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"),
		"Origin":               oneOf("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"),
		"RotationPeriodInDays": intIn(90, 2560),
	},
	canonical: func(sc *scope, name string) string {
		if k := sc.kms().lookup(name); k != nil {
			return k.id
		}
		return name
	},
	seed: func(sc *scope, seed *Seed, names []string) any {
		k := &kmsState{}
		k.seed(sc, slices.Concat(seed.Keys, names))
		return k
	},
}

func (sc *scope) kms() *kmsState { return sc.state["kms"].(*kmsState) }

// kmsState holds the KMS keys and their aliases.
type kmsState struct {
	sc      *scope             // the account and region the keys are in
	keys    map[string]*kmsKey // by key id
	aliases map[string]string  // "alias/x" → key id
	order   []string           // key ids in seed order
}

type kmsKey struct {
	id       string
	arn      string
	manager  string // CUSTOMER or AWS
	created  time.Time
	rotation bool

	// Filled in by kmsView (overrides.go); the seeded keys are all
	// SYMMETRIC_DEFAULT AWS_KMS keys rotating every 365 days.
	spec, origin string
	rotationDays int
}

func (k *kmsState) seed(sc *scope, entries []string) {
	k.sc = sc
	k.keys = map[string]*kmsKey{}
	k.aliases = map[string]string{}
	for _, e := range entries {
		alias := ""
		id := e
		if _, rest, ok := strings.Cut(e, ":key/"); ok && strings.HasPrefix(e, "arn:") {
			id = rest
		}
		if strings.HasPrefix(e, "alias/") {
			alias = e
			id = uuidFrom(e) // stable across runs so logs and fixtures can name it
		}
		key := k.keys[id]
		if key == nil {
			key = &kmsKey{id: id, arn: sc.arn("kms", "key/"+id), manager: "CUSTOMER", created: time.Now().Add(-30 * 24 * time.Hour), rotation: true}
			if strings.HasPrefix(alias, "alias/aws/") {
				key.manager = "AWS"
			}
			k.keys[id] = key
			k.order = append(k.order, id)
		}
		if alias != "" {
			k.aliases[alias] = id
		}
	}
}

func uuidFrom(name string) string {
	h := sha256.Sum256([]byte(name))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-a" + x[17:20] + "-" + x[20:32]
}

func (k *kmsState) firstKeyARN() string {
	if len(k.order) == 0 {
		return ""
	}
	return k.keys[k.order[0]].arn
}

// lookup resolves a key id, key ARN, alias name or alias ARN.
func (k *kmsState) lookup(name string) *kmsKey {
	if strings.HasPrefix(name, "arn:") {
		prefix := "arn:aws:kms:" + k.sc.region + ":" + k.sc.account + ":"
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return nil
		}
		if id, ok := strings.CutPrefix(rest, "key/"); ok {
			return k.keys[id]
		}
		name = rest
	}
	if strings.HasPrefix(name, "alias/") {
		return k.keys[k.aliases[name]]
	}
	return k.keys[name]
}

var kmsOps = map[string]jsonOp{
	"DescribeKey":          kmsDescribeKey,
	"GetKeyRotationStatus": kmsGetKeyRotationStatus,
}

func kmsResource(s *Sim, op string, in map[string]json.RawMessage) string {
	return stringField(in, "KeyId")
}

func kmsNotFound(sc *scope, id string) *apiError {
	if strings.HasPrefix(id, "alias/") {
		return errorf("NotFoundException", "Alias %s is not found.", sc.arn("kms", id))
	}
	if strings.HasPrefix(id, "arn:") && strings.Contains(id, ":alias/") {
		return errorf("NotFoundException", "Alias %s is not found.", id)
	}
	return errorf("NotFoundException", "Key '%s' does not exist", id)
}

func kmsDescribeKey(c *call) (any, *apiError) {
	var in struct{ KeyId string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.KeyId == "" {
		return nil, validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	found := c.sc.kms().lookup(in.KeyId)
	if found == nil {
		return nil, kmsNotFound(c.sc, in.KeyId)
	}
	key := c.kmsView(found)
	state := "Enabled"
	if c.state != "" {
		state = c.state
	}
	md := map[string]any{
		"AWSAccountId":          c.sc.account,
		"KeyId":                 key.id,
		"Arn":                   key.arn,
		"CreationDate":          epoch(key.created),
		"Enabled":               state == "Enabled",
		"Description":           "",
		"KeyUsage":              "ENCRYPT_DECRYPT",
		"KeyState":              state,
		"Origin":                key.origin,
		"KeyManager":            key.manager,
		"CustomerMasterKeySpec": key.spec,
		"KeySpec":               key.spec,
		"EncryptionAlgorithms":  []string{"SYMMETRIC_DEFAULT"},
		"MultiRegion":           false,
	}
	if state == "PendingDeletion" {
		md["DeletionDate"] = epoch(time.Now().Add(7 * 24 * time.Hour))
		md["PendingDeletionWindowInDays"] = 7
	}
	return map[string]any{"KeyMetadata": md}, nil
}

// kmsGetKeyRotationStatus takes only a key id or key ARN: KMS refuses aliases
// for this operation, so callers must DescribeKey first.
func kmsGetKeyRotationStatus(c *call) (any, *apiError) {
	var in struct{ KeyId string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.KeyId == "" {
		return nil, validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	if strings.HasPrefix(in.KeyId, "alias/") || strings.Contains(in.KeyId, ":alias/") {
		return nil, errorf("NotFoundException", "Invalid keyId %s", in.KeyId)
	}
	found := c.sc.kms().lookup(in.KeyId)
	if found == nil {
		return nil, kmsNotFound(c.sc, in.KeyId)
	}
	key := c.kmsView(found)
	// Only symmetric keys with KMS-generated material rotate automatically.
	if key.spec != "SYMMETRIC_DEFAULT" || key.origin != "AWS_KMS" {
		return nil, errorf("UnsupportedOperationException", "%s origin %s key spec %s does not support automatic rotation", key.arn, key.origin, key.spec)
	}
	switch c.state {
	case "PendingImport", "Unavailable":
		return nil, errorf("KMSInvalidStateException", "%s is %s", key.arn, c.state)
	}
	enabled := key.rotation && c.state != "PendingDeletion"
	out := map[string]any{"KeyId": key.arn, "KeyRotationEnabled": enabled}
	if enabled {
		out["RotationPeriodInDays"] = key.rotationDays
		out["NextRotationDate"] = epoch(key.created.Add(time.Duration(key.rotationDays) * 24 * time.Hour))
	}
	return out, nil
}

// kmsView is key with the call's overrides applied.
func (c *call) kmsView(key *kmsKey) kmsKey {
	k := *key
	if v, ok := c.set["KeyRotationEnabled"]; ok {
		k.rotation = v == "true"
	}
	if v, ok := c.set["KeyManager"]; ok {
		k.manager = v
	}
	k.spec, k.origin, k.rotationDays = "SYMMETRIC_DEFAULT", "AWS_KMS", 365
	if v, ok := c.set["KeySpec"]; ok {
		k.spec = v
	}
	if v, ok := c.set["Origin"]; ok {
		k.origin = v
	}
	if v, ok := c.set["RotationPeriodInDays"]; ok {
		k.rotationDays, _ = strconv.Atoi(v)
	}
	return k
}

// awsManagedKey returns (creating on first use) the AWS-managed key behind
// an alias such as alias/aws/dynamodb, as AWS creates it on first use.
func (k *kmsState) awsManagedKey(alias string) *kmsKey {
	if key := k.lookup(alias); key != nil {
		return key
	}
	id := uuidFrom(alias)
	key := &kmsKey{id: id, arn: k.sc.arn("kms", "key/"+id), manager: "AWS", created: time.Now().Add(-24 * time.Hour), rotation: true}
	k.keys[id] = key
	k.order = append(k.order, id)
	k.aliases[alias] = id
	return key
}
