package probes

import "fmt"

// advice is the troubleshooting text of one service that does not depend on
// the exact failure. Each service file fills one in and adds its specific
// cases in its Hint method; this is the fallback for every class, so no
// (service, class) pair is left without something to do.
type advice struct {
	place    Place  // the resource's (Target.Place): where to look, whose role
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
		return fmt.Sprintf("socmond may not read %s: grant %s on it to %s, check no SCP or permission boundary denies it, and check the role's credentials are present and not expired", a.resource, a.action, roleOf(a.place))
	case ClassNotFound:
		return a.notFound
	case ClassInvalidState:
		return fmt.Sprintf("%s is not in a usable state: see the detail for the state AWS reports", a.resource)
	case ClassServer:
		in := "this region"
		if !a.place.IsZero() {
			in = a.place.Region
		}
		return fmt.Sprintf("%s returned a server error or an unreadable response: check the AWS Health Dashboard for %s in %s; if it persists, open a support case quoting the request id", a.name, a.name, in)
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
	return advice{
		place:    t.Place,
		name:     t.Service,
		action:   "the read permission the check needs",
		resource: t.String(),
		notFound: fmt.Sprintf("%s was not found: check its name and the region %s", t.String(), regionOf(t.Place)),
	}.hint(class)
}

// regionOf is the region a hint says a resource is looked for in, in
// parentheses: AWS_REGION for the config-wide pipeline's; for a tenant's
// pipeline's, its own region and account, where socmond looks whatever
// AWS_REGION says.
func regionOf(p Place) string {
	if p.IsZero() {
		return "(AWS_REGION)"
	}
	return fmt.Sprintf("(%s, in account %s: tenant %s's pipeline)", p.Region, p.Account, p.Tenant)
}

// pipelineRegion is regionOf for a hint whose resource names its own region
// (a queue URL, a state machine ARN): nothing to add for the config-wide
// pipeline's.
func pipelineRegion(p Place) string {
	if p.IsZero() {
		return ""
	}
	return " " + regionOf(p)
}

// roleOf is who a hint says to grant a permission to: the role socmond
// runs under, or for a tenant's pipeline's resource the account's role it
// assumes.
func roleOf(p Place) string {
	if p.IsZero() {
		return "socmond's role"
	}
	return "the role socmond assumes in account " + p.Account
}
