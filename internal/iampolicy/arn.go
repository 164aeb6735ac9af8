package iampolicy

import (
	"strings"
)

// scope is where the policy's ARNs live: partition, region and account.
type scope struct {
	partition, region, account string
}

// accountFrom finds the account id in the first ARN that carries one, so a
// config that names the state machine or key by ARN scopes every other
// resource to the same account without being told twice.
func accountFrom(arns ...string) (partition, account string) {
	for _, a := range arns {
		p := strings.Split(a, ":")
		if len(p) >= 6 && p[0] == "arn" && len(p[4]) == 12 {
			return p[1], p[4]
		}
	}
	return "", ""
}

func (s scope) arn(service, resource string) string {
	return "arn:" + s.partition + ":" + service + ":" + s.region + ":" + s.account + ":" + resource
}

// model is a Bedrock foundation model: AWS owns it, so the ARN has no account.
func (s scope) model(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return "arn:" + s.partition + ":bedrock:" + s.region + "::foundation-model/" + id
}

func (s scope) table(name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return s.arn("dynamodb", "table/"+name)
}

func (s scope) bucket(name string) string { return "arn:" + s.partition + ":s3:::" + name }

// objects is every object under prefix in bucket.
func (s scope) objects(bucket, prefix string) string {
	return s.bucket(bucket) + "/" + prefix + "*"
}

func (s scope) bus(name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return s.arn("events", "event-bus/"+name)
}

// rule is an EventBridge rule; on a custom bus its ARN includes the bus.
func (s scope) rule(bus, name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	if bus == "" || bus == "default" {
		return s.arn("events", "rule/"+name)
	}
	if strings.HasPrefix(bus, "arn:") {
		bus = bus[strings.LastIndex(bus, "/")+1:]
	}
	return s.arn("events", "rule/"+bus+"/"+name)
}

func (s scope) stateMachine(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return s.arn("states", "stateMachine:"+nameOrARN)
}

// executions are every execution of a state machine.
func (s scope) executions(machineARN string) string {
	name := machineARN[strings.LastIndex(machineARN, ":")+1:]
	return s.arn("states", "execution:"+name+":*")
}

func (s scope) function(name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return s.arn("lambda", "function:"+name)
}

// key scopes a KMS key named by id, key ARN, alias or alias ARN. An alias
// cannot be an IAM resource for key operations, so it becomes "any key of
// this account" narrowed by the kms:ResourceAliases condition — AWS's own
// way of granting access to a key by its alias.
func (s scope) key(name string) (resource, alias string) {
	switch {
	case strings.HasPrefix(name, "arn:") && strings.Contains(name, ":alias/"):
		return s.arn("kms", "key/*"), name[strings.Index(name, ":alias/")+1:]
	case strings.HasPrefix(name, "arn:"):
		return name, ""
	case strings.HasPrefix(name, "alias/"):
		return s.arn("kms", "key/*"), name
	default:
		return s.arn("kms", "key/"+name), ""
	}
}

// keyPrefix is the part of an object key template before its first
// placeholder, with {tenant} filled in.
func keyPrefix(template, tenant string) string {
	t := strings.ReplaceAll(template, "{tenant}", tenant)
	if i := strings.Index(t, "{"); i >= 0 {
		return t[:i]
	}
	return t
}
