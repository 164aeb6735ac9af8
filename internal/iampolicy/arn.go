package iampolicy

import (
	"github.com/socmond/socmond/internal/probes"
	"strings"
)

// scope is where the policy's ARNs live: partition, region and account.
// The services' own resources' ARN forms are their descriptors' (probes);
// these are the forms the features need beyond them.
type scope struct {
	partition, region, account string
}

func (s scope) probes() probes.Scope {
	return probes.Scope{Partition: s.partition, Region: s.region, Account: s.account}
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

func (s scope) arn(service, resource string) string { return s.probes().ARN(service, resource) }

func (s scope) table(name string) string { return probes.TableARN(s.probes(), name).Resource }

func (s scope) bucket(name string) string { return probes.BucketARN(s.probes(), name).Resource }

// objects is every object under prefix in bucket.
func (s scope) objects(bucket, prefix string) string {
	return s.bucket(bucket) + "/" + prefix + "*"
}

func (s scope) bus(name string) string { return probes.BusARN(s.probes(), name).Resource }

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
	return probes.StateMachineARN(s.probes(), nameOrARN).Resource
}

// executions are every execution of a state machine.
func (s scope) executions(machineARN string) string {
	name := machineARN[strings.LastIndex(machineARN, ":")+1:]
	return s.arn("states", "execution:"+name+":*")
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
