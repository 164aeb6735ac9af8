package awssim

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A fault's Set overrides settings of the resources it matches — a key's
// rotation, a table's or bucket's encryption, a bucket's Object Lock — for
// as long as the fault is active, so a test or a demo can turn a compliance
// check red and, by deleting the fault, green again. Keys are AWS's field
// names; "NONE" removes the whole configuration (no SSEDescription, no
// bucket encryption, no Object Lock, no default retention rule).

// setValidators lists, per service, the keys Set accepts and their values.
var setValidators = map[string]map[string]func(string) error{
	"kms": {
		"KeyRotationEnabled":   oneOf("true", "false"),
		"KeyManager":           oneOf("CUSTOMER", "AWS"),
		"KeySpec":              oneOf("SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"),
		"Origin":               oneOf("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"),
		"RotationPeriodInDays": intIn(90, 2560),
	},
	"dynamodb": {
		"SSEType":                        oneOf("KMS", "AES256", "NONE"),
		"SSEStatus":                      oneOf("ENABLING", "ENABLED", "DISABLING", "DISABLED", "UPDATING"),
		"KMSMasterKeyArn":                nonEmpty,
		"InaccessibleEncryptionDateTime": timeOrNow,
	},
	"s3": {
		"SSEAlgorithm":      oneOf("AES256", "aws:kms", "aws:kms:dsse", "NONE"),
		"KMSMasterKeyID":    func(string) error { return nil }, // "" = no key named (the aws/s3 key)
		"BucketKeyEnabled":  oneOf("true", "false"),
		"ObjectLockEnabled": oneOf("Enabled", "NONE"),
		"Mode":              oneOf("COMPLIANCE", "GOVERNANCE", "NONE"),
		"Years":             intIn(1, 100),
		"Days":              intIn(1, 36500),
	},
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("want one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

func intIn(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func timeOrNow(v string) error {
	if v == "now" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		return fmt.Errorf(`want "now" or an RFC 3339 time`)
	}
	return nil
}

// validateSet checks a fault's Set against its service.
func validateSet(service string, set map[string]string) error {
	keys, ok := setValidators[service]
	if !ok {
		return fmt.Errorf("service %s has no settings to override (set works for kms, dynamodb and s3)", service)
	}
	for _, k := range sortedKeys(set) {
		check, ok := keys[k]
		if !ok {
			return fmt.Errorf("%s has no setting %q (want one of %s)", service, k, strings.Join(sortedKeys(keys), ", "))
		}
		if err := check(set[k]); err != nil {
			return fmt.Errorf("set %s=%q: %v", k, set[k], err)
		}
	}
	if set["Years"] != "" && set["Days"] != "" {
		return fmt.Errorf("set Years or Days, not both (S3 retention is one or the other)")
	}
	return nil
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
	key := &kmsKey{id: id, arn: k.s.arn("kms", "key/"+id), manager: "AWS", created: time.Now().Add(-24 * time.Hour), rotation: true}
	k.keys[id] = key
	k.order = append(k.order, id)
	k.aliases[alias] = id
	return key
}

// tableSSE is the table's SSEDescription with the call's overrides, or nil
// when the table uses an AWS-owned key.
func (c *call) tableSSE(t *table, status string) map[string]any {
	keyARN := t.sseKeyARN
	if v, ok := c.set["KMSMasterKeyArn"]; ok {
		if strings.HasPrefix(v, "alias/aws/") {
			keyARN = c.sim.kms.awsManagedKey(v).arn
		} else if k := c.sim.kms.lookup(v); k != nil {
			keyARN = k.arn
		} else {
			keyARN = v
		}
	}
	sseType := "KMS"
	if keyARN == "" {
		sseType = "NONE"
	}
	if v, ok := c.set["SSEType"]; ok {
		sseType = v
	}
	if sseType == "NONE" {
		return nil
	}
	sse := map[string]any{"Status": "ENABLED", "SSEType": sseType}
	if keyARN != "" && sseType == "KMS" {
		sse["KMSMasterKeyArn"] = keyARN
	}
	if v, ok := c.set["SSEStatus"]; ok {
		sse["Status"] = v
	}
	switch v := c.set["InaccessibleEncryptionDateTime"]; {
	case v == "now" || (v == "" && status == "INACCESSIBLE_ENCRYPTION_CREDENTIALS"):
		sse["InaccessibleEncryptionDateTime"] = epoch(time.Now())
	case v != "":
		t, _ := time.Parse(time.RFC3339, v)
		sse["InaccessibleEncryptionDateTime"] = epoch(t)
	}
	return sse
}

// bucketView is b with the call's overrides applied. It shares b's objects,
// so writes through it land in the bucket.
func (c *call) bucketView(b *bucket) *bucket {
	v := *b
	if v.lockMode == "" && v.lock {
		v.lockMode, v.lockYears = "COMPLIANCE", 7
	}
	if len(c.set) == 0 {
		return &v
	}
	if a, ok := c.set["SSEAlgorithm"]; ok {
		v.sseAlg = a
		if a == "NONE" {
			v.sseAlg, v.sseKeyARN = "", ""
		} else if a == "AES256" {
			v.sseKeyARN = ""
		}
	}
	if k, ok := c.set["KMSMasterKeyID"]; ok {
		v.sseKeyARN = k
	}
	if bk, ok := c.set["BucketKeyEnabled"]; ok {
		v.bucketKey = bk == "true"
	}
	if l, ok := c.set["ObjectLockEnabled"]; ok {
		v.lock = l == "Enabled"
		if v.lock && v.lockMode == "" {
			v.lockMode, v.lockYears = "COMPLIANCE", 7
		}
	}
	if m, ok := c.set["Mode"]; ok {
		v.lockMode = m
		if m == "NONE" {
			v.lockMode = ""
		}
	}
	if y, ok := c.set["Years"]; ok {
		v.lockYears, _ = strconv.Atoi(y)
		v.lockDays = 0
	}
	if d, ok := c.set["Days"]; ok {
		v.lockDays, _ = strconv.Atoi(d)
		v.lockYears = 0
	}
	return &v
}

// mergeSet adds a fault's settings to those already collected; the fault
// added first wins a key both set.
func mergeSet(into map[string]string, set map[string]string) map[string]string {
	if len(set) == 0 {
		return into
	}
	if into == nil {
		into = map[string]string{}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := into[k]; !ok {
			into[k] = set[k]
		}
	}
	return into
}
