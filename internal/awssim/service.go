package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// services are the AWS services the simulator speaks, one value per service
// in its own file. Adding a service is that file and one entry here; the
// routing, errors, faults and seed below read everything from this list.
//
// The order is the seed order: KMS first, since the other services' resources
// are encrypted with its first key, and Lambda before Step Functions, whose
// default definition chains the seeded functions.
var services = []*service{
	kmsService,
	dynamoService,
	s3Service,
	eventsService,
	lambdaService,
	sfnService,
	bedrockService,
	sqsService,
	stsService,
}

// service is everything the simulator's shared code knows of one service.
type service struct {
	// name is the service's name in faults, Calls and Seed.Resources;
	// aliases are other names a fault or a seed may use for it.
	name    string
	aliases []string
	// signing is the SigV4 service name its requests must be scoped to.
	signing string

	// An awsJson service is routed by its X-Amz-Target prefix (target) to
	// its operations (ops); resource names the resource a request is about.
	target   string
	ops      map[string]jsonOp
	resource func(s *Sim, op string, in map[string]json.RawMessage) string

	// Any other service routes its own requests (route, which sets op,
	// resource and handler). It gets the requests it claims by their path,
	// or, failing any claim, those signed for it if byScope, or everything
	// left if it is the fallback (S3, whose paths are bucket names).
	route    func(s *Sim, c *call) *apiError
	claims   func(r *http.Request) bool
	byScope  bool
	fallback bool

	// statuses are the HTTP statuses AWS sends for the service's error codes
	// (aws-api.md §2); protocol is how its errors look on the wire.
	statuses map[string]int
	protocol protocol
	// throttle is the code the service throttles with (ThrottleCode).
	throttle string

	// states are the values a fault's State may set (none: the service has
	// no state to override), settings the keys a fault's Set may override
	// and their valid values (overrides.go). The service's handlers apply
	// both (call.state, call.set). canonical reduces the names of one
	// resource (alias, id, ARN) of a scope to one string, so a fault
	// matches however a request names the resource; nil means names are
	// taken as they are.
	states    []string
	settings  map[string]func(string) error
	canonical func(sc *scope, name string) string

	// seed creates the service's state and resources in a new scope (an
	// account in a region, scope.go) and returns the state, which the
	// scope keeps under the service's name (scope.state) for the service's
	// accessor. names are those Seed.Resources gives it, to which it adds
	// its own Seed fields. It runs for every service and scope, with or
	// without names (nil: the service keeps no state per scope).
	seed func(sc *scope, seed *Seed, names []string) any
}

// protocol is how a service answers beyond its successful bodies: errors,
// malformed answers and signature errors.
type protocol struct {
	name string // awsJson1.0, awsJson1.1, restJson1, restXml, awsQuery
	// writeError writes e with the given status.
	writeError func(c *call, status int, e *apiError)
	// writeMalformed answers 200 with what the SDK cannot decode.
	writeMalformed func(c *call)
	// authError is the error for a request whose signature is missing,
	// malformed, or scoped to another service or region (authKind).
	authError func(c *call, kind authKind, msg string) *apiError
	// signed, if set, checks what the service requires of a request whose
	// signature is in order (S3: x-amz-content-sha256).
	signed func(c *call) *apiError

	// awsJson only: the Content-Type of every answer, and whether each
	// carries X-Amz-Crc32 (DynamoDB).
	jsonContentType string
	crc32           bool
}

// names lists the service's name and aliases.
func (svc *service) names() []string {
	return append([]string{svc.name}, svc.aliases...)
}

// errorStatus returns the HTTP status AWS uses for code on the service.
// Codes its table does not know fall back by name: server-side sounding
// codes get 5xx, the rest 400, which is what AWS does for most client errors.
func (svc *service) errorStatus(code string) int {
	if st, ok := svc.statuses[code]; ok {
		return st
	}
	switch {
	case strings.Contains(code, "Unavailable"):
		return http.StatusServiceUnavailable
	case strings.Contains(code, "Internal") || code == "ServiceException" || code == "InternalFailure":
		return http.StatusInternalServerError
	case strings.Contains(code, "Timeout") && strings.HasPrefix(code, "Gateway"):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadRequest
}

// ThrottleCode is the error code service (a name or alias) throttles with,
// for a Fault that throttles it; "" for a service the simulator lacks.
func ThrottleCode(service string) string {
	if svc := lookupService(services, service); svc != nil {
		return svc.throttle
	}
	return ""
}

// lookupService finds a service in list by name or alias (any case); nil if
// none has it.
func lookupService(list []*service, name string) *service {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, svc := range list {
		if svc.name == name || slices.Contains(svc.aliases, name) {
			return svc
		}
	}
	return nil
}

// service returns the simulator's service named name (or an alias).
func (s *Sim) service(name string) *service {
	return lookupService(s.services, name)
}

// serviceNames lists the names of the services in list that pass keep (all
// if keep is nil), as "a, b or c" (conj "or").
func serviceNames(list []*service, keep func(*service) bool, conj string) string {
	var names []string
	for _, svc := range list {
		if keep == nil || keep(svc) {
			names = append(names, svc.name)
		}
	}
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

// Add adds the resource name of service (a service's name or alias, as in a
// Fault) to the seed's Resources. It fails for a service the simulator does
// not have, naming those it has.
func (sd *Seed) Add(service, name string) error {
	svc := lookupService(services, service)
	if svc == nil {
		return fmt.Errorf("awssim: no service %q to seed (have %s)", service, serviceNames(services, nil, "and"))
	}
	if sd.Resources == nil {
		sd.Resources = map[string][]string{}
	}
	sd.Resources[svc.name] = append(sd.Resources[svc.name], name)
	return nil
}

// seedServices creates every service's resources in sc from seed, in the
// order of s.services. Resources naming a service the simulator does not have is a
// programming error in the caller, as an invalid fault is, and panics.
func (s *Sim) seedServices(sc *scope, seed *Seed) {
	names := map[*service][]string{}
	keys := make([]string, 0, len(seed.Resources))
	for k := range seed.Resources {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a service given under its name and an alias seeds in a stable order
	for _, k := range keys {
		svc := s.service(k)
		if svc == nil {
			panic(fmt.Sprintf("awssim: seed names service %q (have %s)", k, serviceNames(s.services, nil, "and")))
		}
		names[svc] = append(names[svc], seed.Resources[k]...)
	}
	for _, svc := range s.services {
		sc.state[svc.name] = svc.seed(sc, seed, names[svc])
	}
}
