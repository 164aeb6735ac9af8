package probes

// services are the AWS services socmond probes, in the order validate's
// table and Targets list them. Adding a service is one file beside this
// one, declaring its Service, and one line here.
var services = []Service{
	Bedrock,
	DynamoDB,
	S3,
	KMS,
	EventBridge,
	StepFunctions,
	Lambda,
	SQS,
}
