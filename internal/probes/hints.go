package probes

import "fmt"

// advice is the troubleshooting text of one service that does not depend on
// the exact failure. Each service file fills one in and adds its specific
// cases in its Hint method; this is the fallback for every class, so no
// (service, class) pair is left without something to do.
type advice struct {
	name     string // "DynamoDB"
	action   string // the IAM action the probe needs, "dynamodb:DescribeTable"
	resource string // what is checked, "table orders"
	notFound string // what to check when the resource is missing
}

func (a advice) hint(class Class) string {
	switch class {
	case ClassTimeout:
		return fmt.Sprintf("No answer from %s within the probe deadline: check the network path to its endpoint (VPC endpoint, NAT gateway, proxy, security groups) and the AWS Health Dashboard for %s latency", a.name, a.name)
	case ClassThrottled:
		return fmt.Sprintf("%s is throttling socmond: look for other consumers of the same account quota (%s) and request a quota increase in Service Quotas if the load is legitimate", a.name, a.action)
	case ClassAuth:
		return fmt.Sprintf("socmond may not read %s: grant %s on it to socmond's role, check no SCP or permission boundary denies it, and check the role's credentials are present and not expired", a.resource, a.action)
	case ClassNotFound:
		return a.notFound
	case ClassInvalidState:
		return fmt.Sprintf("%s is not in a usable state: see the detail for the state AWS reports", a.resource)
	case ClassServer:
		return fmt.Sprintf("%s returned a server error or an unreadable response: check the AWS Health Dashboard for %s in this region; if it persists, open a support case quoting the request id", a.name, a.name)
	case ClassNetwork:
		return fmt.Sprintf("Could not connect to the %s endpoint: check the endpoint URL, DNS resolution, the VPC endpoint or NAT route, security groups and any HTTPS proxy settings", a.name)
	case ClassSlow:
		return fmt.Sprintf("%s answered, but slower than the threshold: check the AWS Health Dashboard and the network path to the endpoint; raise the threshold if this latency is normal for the region", a.name)
	case ClassBacklog:
		return fmt.Sprintf("%s holds items the pipeline could not deliver: read them to see why delivery failed, fix what they were meant for, then redrive them", a.resource)
	case ClassOther:
		return fmt.Sprintf("Unexpected error from %s for %s: see the detail and the AWS error code, and check socmond's configuration for this target", a.name, a.resource)
	}
	return ""
}

// DefaultHint is the advice for a class when the probe has nothing more
// specific to say.
func DefaultHint(t Target, class Class) string {
	where := "the region (AWS_REGION)"
	if !t.Place.IsZero() {
		where = fmt.Sprintf("that it exists in account %s, region %s (tenant %s's pipeline)", t.Account, t.Region, t.Tenant)
	}
	return advice{
		name:     t.Service,
		action:   "the read permission the check needs",
		resource: t.String(),
		notFound: fmt.Sprintf("%s was not found: check its name and %s", t.String(), where),
	}.hint(class)
}
