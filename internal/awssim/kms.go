package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// kmsState holds the KMS keys and their aliases.
type kmsState struct {
	s       *Sim
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

func (k *kmsState) seed(s *Sim, entries []string) {
	k.s = s
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
			key = &kmsKey{id: id, arn: s.arn("kms", "key/"+id), manager: "CUSTOMER", created: time.Now().Add(-30 * 24 * time.Hour), rotation: true}
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
		prefix := "arn:aws:kms:" + k.s.region + ":" + k.s.account + ":"
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

func kmsNotFound(s *Sim, id string) *apiError {
	if strings.HasPrefix(id, "alias/") {
		return errorf("NotFoundException", "Alias %s is not found.", s.arn("kms", id))
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
	found := c.sim.kms.lookup(in.KeyId)
	if found == nil {
		return nil, kmsNotFound(c.sim, in.KeyId)
	}
	key := c.kmsView(found)
	state := "Enabled"
	if c.state != "" {
		state = c.state
	}
	md := map[string]any{
		"AWSAccountId":          c.sim.account,
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
	found := c.sim.kms.lookup(in.KeyId)
	if found == nil {
		return nil, kmsNotFound(c.sim, in.KeyId)
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
