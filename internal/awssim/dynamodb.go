package awssim

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
)

// dynamoService is DynamoDB (awsJson 1.0): tables and their items.
var dynamoService = &service{
	name: "dynamodb", signing: "dynamodb",
	target: "DynamoDB_20120810.", ops: dynamoOps, resource: dynamoResource,
	throttle: "ProvisionedThroughputExceededException",
	statuses: map[string]int{
		"ResourceNotFoundException":              400,
		"AccessDeniedException":                  400,
		"ThrottlingException":                    400,
		"ProvisionedThroughputExceededException": 400,
		"LimitExceededException":                 400,
		"RequestLimitExceeded":                   400,
		"ValidationException":                    400,
		"ConditionalCheckFailedException":        400,
		"InternalServerError":                    500,
		"ServiceUnavailable":                     503,
	},
	protocol: awsJSON("1.0", dynamoErrorType).withCRC32(),
	states:   []string{"CREATING", "UPDATING", "DELETING", "ACTIVE", "INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVING", "ARCHIVED", "REPLICATION_NOT_AUTHORIZED"},
	settings: map[string]func(string) error{ // applied by tableSSE
		"SSEType":                        oneOf("KMS", "AES256", "NONE"),
		"SSEStatus":                      oneOf("ENABLING", "ENABLED", "DISABLING", "DISABLED", "UPDATING"),
		"KMSMasterKeyArn":                nonEmpty,
		"InaccessibleEncryptionDateTime": timeOrNow,
	},
	canonical: func(sc *scope, name string) string {
		if _, rest, ok := strings.Cut(name, ":table/"); ok {
			return rest
		}
		return name
	},
	// Tables are encrypted with the first seeded KMS key.
	seed: func(sc *scope, seed *Seed, names []string) any {
		d := &dynamoState{}
		d.seed(sc, slices.Concat(seed.Tables, names), seed.TableKeys, sc.kms().firstKeyARN())
		return d
	},
}

func (sc *scope) ddb() *dynamoState { return sc.state["dynamodb"].(*dynamoState) }

// dynamoErrorType returns the namespaced __type DynamoDB puts in error bodies:
// front-door errors (auth, throttling, serialization) come from the Coral
// framework, the rest from the DynamoDB model.
func dynamoErrorType(code string) string {
	switch code {
	case "AccessDeniedException", "UnrecognizedClientException", "MissingAuthenticationTokenException",
		"IncompleteSignatureException", "InvalidSignatureException", "SerializationException",
		"UnknownOperationException", "ValidationException":
		return "com.amazon.coral.service#" + code
	case "ThrottlingException":
		return "com.amazon.coral.availability#" + code
	}
	return "com.amazonaws.dynamodb.v20120810#" + code
}

// dynamoState holds the DynamoDB tables and their items.
type dynamoState struct {
	tables map[string]*table
}

type table struct {
	name      string
	arn       string
	id        string
	keyAttr   string // partition key, type S
	created   time.Time
	sseKeyARN string // "" = AWS-owned key (no SSEDescription)
	items     map[string]map[string]json.RawMessage
}

var tableNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func (d *dynamoState) seed(sc *scope, names []string, keys map[string]string, keyARN string) {
	d.tables = map[string]*table{}
	for _, n := range names {
		k := keys[n]
		if k == "" {
			k = "pk"
		}
		d.tables[n] = &table{
			name: n, arn: sc.arn("dynamodb", "table/"+n), id: newUUID(), keyAttr: k,
			created: time.Now().Add(-24 * time.Hour), sseKeyARN: keyARN,
			items: map[string]map[string]json.RawMessage{},
		}
	}
}

var dynamoOps = map[string]jsonOp{
	"DescribeTable": dynamoDescribeTable,
	"GetItem":       dynamoGetItem,
	"PutItem":       dynamoPutItem,
}

func dynamoResource(s *Sim, op string, in map[string]json.RawMessage) string {
	return stringField(in, "TableName")
}

// findTable resolves a TableName (name or table ARN) the way DynamoDB does.
func (c *call) findTable(name string) (*table, *apiError) {
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	arn := name
	if _, rest, ok := strings.Cut(name, ":table/"); ok && strings.HasPrefix(name, "arn:") {
		name = rest
	}
	if !tableNameRe.MatchString(name) {
		return nil, validation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	t := c.sc.ddb().tables[name]
	if t == nil || c.sc.elsewhere(arn) {
		return nil, errorf("ResourceNotFoundException", "Requested resource not found: Table: %s not found", name)
	}
	return t, nil
}

func dynamoDescribeTable(c *call) (any, *apiError) {
	var in struct{ TableName string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	t, e := c.findTable(in.TableName)
	if e != nil {
		return nil, e
	}
	status := "ACTIVE"
	if c.state != "" {
		status = c.state
	}
	size := 0
	for _, it := range t.items {
		b, _ := json.Marshal(it)
		size += len(b)
	}
	desc := map[string]any{
		"TableName":                 t.name,
		"TableArn":                  t.arn,
		"TableId":                   t.id,
		"TableStatus":               status,
		"CreationDateTime":          epoch(t.created),
		"KeySchema":                 []map[string]string{{"AttributeName": t.keyAttr, "KeyType": "HASH"}},
		"AttributeDefinitions":      []map[string]string{{"AttributeName": t.keyAttr, "AttributeType": "S"}},
		"ItemCount":                 len(t.items),
		"TableSizeBytes":            size,
		"BillingModeSummary":        map[string]any{"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": epoch(t.created)},
		"ProvisionedThroughput":     map[string]int{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
		"DeletionProtectionEnabled": true,
	}
	if sse := c.tableSSE(t, status); sse != nil {
		desc["SSEDescription"] = sse
	}
	return map[string]any{"Table": desc}, nil
}

// itemKey checks that key holds exactly the table's key attribute as a
// non-empty string, and returns the value used to store the item.
func (t *table) itemKey(key map[string]map[string]json.RawMessage, exact bool) (string, *apiError) {
	mismatch := validation("The provided key element does not match the schema")
	if exact && len(key) != 1 {
		return "", mismatch
	}
	av, ok := key[t.keyAttr]
	if !ok {
		if exact {
			return "", mismatch
		}
		return "", validation("One or more parameter values were invalid: Missing the key %s in the item", t.keyAttr)
	}
	raw, ok := av["S"]
	if !ok || len(av) != 1 {
		return "", validation("One or more parameter values were invalid: Type mismatch for key %s expected: S", t.keyAttr)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil || v == "" {
		return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", t.keyAttr)
	}
	return v, nil
}

var attributeTypes = map[string]bool{"S": true, "N": true, "B": true, "SS": true, "NS": true, "BS": true, "M": true, "L": true, "NULL": true, "BOOL": true}

func dynamoGetItem(c *call) (any, *apiError) {
	var in struct {
		TableName string
		Key       map[string]map[string]json.RawMessage
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	t, e := c.findTable(in.TableName)
	if e != nil {
		return nil, e
	}
	if in.Key == nil {
		return nil, validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	k, e := t.itemKey(in.Key, true)
	if e != nil {
		return nil, e
	}
	if item, ok := t.items[k]; ok {
		return map[string]any{"Item": item}, nil
	}
	return map[string]any{}, nil
}

func dynamoPutItem(c *call) (any, *apiError) {
	var in struct {
		TableName                 string
		Item                      map[string]map[string]json.RawMessage
		ReturnValues              string
		ConditionExpression       string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]map[string]json.RawMessage
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	t, e := c.findTable(in.TableName)
	if e != nil {
		return nil, e
	}
	if in.Item == nil {
		return nil, validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	for name, av := range in.Item {
		if len(av) != 1 {
			return nil, validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes (attribute %s)", name)
		}
		for typ := range av {
			if !attributeTypes[typ] {
				return nil, errorf("SerializationException", "Unknown AttributeValue type %s", typ)
			}
		}
	}
	k, e := t.itemKey(in.Item, false)
	if e != nil {
		return nil, e
	}
	if size := len(c.body); size > 400*1024 {
		return nil, validation("Item size has exceeded the maximum allowed size")
	}
	old, exists := t.items[k]
	if in.ConditionExpression != "" {
		if e := checkCondition(in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, t.keyAttr, old); e != nil {
			return nil, e
		}
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, validation("ReturnValues can only be ALL_OLD or NONE")
	}
	stored := make(map[string]json.RawMessage, len(in.Item))
	for name, av := range in.Item {
		b, _ := json.Marshal(av)
		stored[name] = b
	}
	t.items[k] = stored
	if in.ReturnValues == "ALL_OLD" && exists {
		return map[string]any{"Attributes": old}, nil
	}
	return map[string]any{}, nil
}

// checkCondition supports the conditions idempotent writers and leases use:
// attribute_not_exists / attribute_exists on the partition key, and one
// attribute equal to a value (`#v = :v`, a compare-and-swap on a version).
// Anything else is refused openly rather than silently treated as true.
// Like DynamoDB, it refuses names and values the expression does not use.
func checkCondition(expr string, names map[string]string, values map[string]map[string]json.RawMessage, keyAttr string, item map[string]json.RawMessage) *apiError {
	expr = strings.TrimSpace(expr)
	usedNames, usedValues := map[string]bool{}, map[string]bool{}
	resolve := func(arg string) (string, *apiError) {
		arg = strings.TrimSpace(arg)
		if !strings.HasPrefix(arg, "#") {
			return arg, nil
		}
		n, ok := names[arg]
		if !ok {
			return "", validation("Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: %s", arg)
		}
		usedNames[arg] = true
		return n, nil
	}
	holds, e := func() (bool, *apiError) {
		for _, fn := range []string{"attribute_not_exists", "attribute_exists"} {
			arg, ok := strings.CutPrefix(expr, fn+"(")
			if !ok || !strings.HasSuffix(arg, ")") {
				continue
			}
			attr, e := resolve(strings.TrimSuffix(arg, ")"))
			if e != nil {
				return false, e
			}
			if attr != keyAttr {
				break
			}
			return (fn == "attribute_not_exists") == (item == nil), nil
		}
		if left, right, ok := strings.Cut(expr, "="); ok && !strings.ContainsAny(left+right, "()<>!") {
			attr, e := resolve(left)
			if e != nil {
				return false, e
			}
			ref := strings.TrimSpace(right)
			want, ok := values[ref]
			if !strings.HasPrefix(ref, ":") || !ok {
				return false, validation("Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: %s", ref)
			}
			usedValues[ref] = true
			have, ok := item[attr]
			if !ok {
				return false, nil
			}
			w, _ := json.Marshal(want) // map keys sorted: one spelling per value
			var h map[string]json.RawMessage
			_ = json.Unmarshal(have, &h)
			hb, _ := json.Marshal(h)
			return string(w) == string(hb), nil
		}
		return false, validation("awssim supports only attribute_not_exists/attribute_exists on the partition key and `attribute = :value`, got %q", expr)
	}()
	if e != nil {
		return e
	}
	for n := range names {
		if !usedNames[n] {
			return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", n)
		}
	}
	for v := range values {
		if !usedValues[v] {
			return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", v)
		}
	}
	if !holds {
		return errorf("ConditionalCheckFailedException", "The conditional request failed")
	}
	return nil
}

// tableSSE is the table's SSEDescription with the call's overrides, or nil
// when the table uses an AWS-owned key.
func (c *call) tableSSE(t *table, status string) map[string]any {
	keyARN := t.sseKeyARN
	if v, ok := c.set["KMSMasterKeyArn"]; ok {
		if strings.HasPrefix(v, "alias/aws/") {
			keyARN = c.sc.kms().awsManagedKey(v).arn
		} else if k := c.sc.kms().lookup(v); k != nil {
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
