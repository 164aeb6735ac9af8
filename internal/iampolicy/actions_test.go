package iampolicy

import (
	"strings"

	"github.com/socmond/socmond/internal/probes"
)

// needs maps an AWS operation, as the simulator records it, to the IAM
// actions it requires. Most are one to one; the ones with more are S3 calls
// on SSE-KMS, Object-Locked objects, where S3 calls KMS on the caller's
// behalf and the retention headers need their own permission.
var needs = map[string][]string{
	"bedrock:GetFoundationModel":             {"bedrock:GetFoundationModel"},
	"bedrock:Converse":                       {"bedrock:InvokeModel"},
	"bedrock:InvokeModel":                    {"bedrock:InvokeModel"},
	"dynamodb:DescribeTable":                 {"dynamodb:DescribeTable"},
	"dynamodb:GetItem":                       {"dynamodb:GetItem"},
	"dynamodb:PutItem":                       {"dynamodb:PutItem"}, // the leader-election lease
	"s3:HeadBucket":                          {"s3:ListBucket"},
	"s3:ListObjectsV2":                       {"s3:ListBucket"},
	"s3:GetBucketEncryption":                 {"s3:GetEncryptionConfiguration"},
	"s3:GetObjectLockConfiguration":          {"s3:GetBucketObjectLockConfiguration"},
	"s3:PutObject":                           {"s3:PutObject", "s3:PutObjectRetention", "kms:GenerateDataKey"},
	"s3:GetObject":                           {"s3:GetObject", "kms:Decrypt"},
	"s3:HeadObject":                          {"s3:GetObject"},
	"kms:DescribeKey":                        {"kms:DescribeKey"},
	"kms:GetKeyRotationStatus":               {"kms:GetKeyRotationStatus"},
	"eventbridge:DescribeEventBus":           {"events:DescribeEventBus"},
	"eventbridge:DescribeRule":               {"events:DescribeRule"},
	"eventbridge:ListTargetsByRule":          {"events:ListTargetsByRule"},
	"eventbridge:PutEvents":                  {"events:PutEvents"},
	"stepfunctions:DescribeStateMachine":     {"states:DescribeStateMachine"},
	"stepfunctions:ListExecutions":           {"states:ListExecutions"},
	"stepfunctions:DescribeExecution":        {"states:DescribeExecution"},
	"stepfunctions:GetExecutionHistory":      {"states:GetExecutionHistory"},
	"lambda:GetFunctionConfiguration":        {"lambda:GetFunctionConfiguration"},
	"s3:GetObjectRetention":                  {"s3:GetObjectRetention"},
	"bedrock:GetFoundationModelAvailability": {"bedrock:GetFoundationModelAvailability"},
}

// neededActions is what a call recorded by the simulator needs: needs
// above, or for a probe's own call that its descriptor does not list
// there, the actions the descriptor grants it (a new service's probe
// needs no entry here).
func neededActions(service, op string) ([]string, bool) {
	if acts, ok := needs[service+":"+op]; ok {
		return acts, true
	}
	if d, ok := probes.Lookup(service); ok {
		for _, a := range d.Read.Actions {
			if strings.HasSuffix(a, ":"+op) {
				return d.Read.Actions, true
			}
		}
	}
	return nil, false
}

// globMatch is IAM's resource matching: * matches any run of characters
// (including / and :), ? any one.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	default:
		return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
	}
}

// conditionAliases are the aliases a kms:ResourceAliases condition allows.
func conditionAliases(st Statement) []string {
	return st.Condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
