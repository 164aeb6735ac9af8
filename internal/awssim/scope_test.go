package awssim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	eventtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The accounts and regions of the multi-account tests: the first account in
// the first region is the seed's default scope, whose plain credentials
// assume the roles.
var (
	scopeAccounts = []string{"111111111111", "222222222222", "333333333333"}
	scopeRegions  = []string{"us-east-1", "eu-west-1"}
)

const scopeExternalID = "socmond-ext-2" // the second account's role asks for it

func readerRole(account string) string { return "arn:aws:iam::" + account + ":role/socmond-reader" }

func scopeMachineARN(account, region string) string {
	return "arn:aws:states:" + region + ":" + account + ":stateMachine:soc-pipeline"
}

// scopedSeed seeds every account in every region with the same names, and
// grants each account's reader role.
func scopedSeed() Seed {
	var all []Seed
	var roles []Role
	for _, a := range scopeAccounts {
		for _, r := range scopeRegions {
			all = append(all, Seed{AccountID: a, Region: r,
				Tables: []string{"soc-alerts"}, Buckets: []string{"soc-data"}, Keys: []string{"alias/soc"},
				Functions: []string{"triage"}, StateMachines: []string{"soc-pipeline"},
				Rules: []Rule{{Name: "to-pipeline", Targets: []string{scopeMachineARN(a, r)}}}})
		}
		role := Role{ARN: readerRole(a)}
		if a == scopeAccounts[1] {
			role.ExternalID = scopeExternalID
		}
		roles = append(roles, role)
	}
	seed := all[0]
	seed.Scopes, seed.Roles = all[1:], roles
	return seed
}

// assume is a credentials cache of role, assumed through the SDK's own
// AssumeRole provider with e's plain credentials: what socmond keeps per
// role.
func (e *env) assume(role, externalID string, opts ...func(*aws.CredentialsCacheOptions)) *aws.CredentialsCache {
	p := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(e.cfg), role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "socmond"
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	})
	return aws.NewCredentialsCache(p, opts...)
}

// in is e's config signed with creds for region.
func (e *env) in(creds aws.CredentialsProvider, region string) aws.Config {
	cfg := e.cfg.Copy()
	cfg.Credentials, cfg.Region = creds, region
	return cfg
}

func externalIDOf(account string) string {
	if account == scopeAccounts[1] {
		return scopeExternalID
	}
	return ""
}

// TestAccountsAndRegions reads the same names in three accounts × two
// regions through assumed roles: each answer is its own scope's, every call
// is recorded with the account, region and role that signed it, and each
// role is assumed once for all its calls.
func TestAccountsAndRegions(t *testing.T) {
	e := start(t, scopedSeed())
	perScope := map[scopeKey]int{}
	for _, a := range scopeAccounts {
		creds := e.assume(readerRole(a), externalIDOf(a))
		for _, r := range scopeRegions {
			cfg := e.in(creds, r)
			prefix := ":" + r + ":" + a + ":"
			table, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
			if err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			if got := aws.ToString(table.Table.TableArn); got != "arn:aws:dynamodb"+prefix+"table/soc-alerts" {
				t.Errorf("%s %s: table ARN %s", a, r, got)
			}
			if got := aws.ToString(table.Table.SSEDescription.KMSMasterKeyArn); !strings.HasPrefix(got, "arn:aws:kms"+prefix+"key/") {
				t.Errorf("%s %s: table key %s, want the scope's own key", a, r, got)
			}
			key, err := kms.NewFromConfig(cfg).DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/soc")})
			if err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			if got := aws.ToString(key.KeyMetadata.Arn); !strings.HasPrefix(got, "arn:aws:kms"+prefix+"key/") || aws.ToString(key.KeyMetadata.AWSAccountId) != a {
				t.Errorf("%s %s: key %s in %s", a, r, got, aws.ToString(key.KeyMetadata.AWSAccountId))
			}
			fn, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("triage")})
			if err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			if got := aws.ToString(fn.FunctionArn); got != "arn:aws:lambda"+prefix+"function:triage" {
				t.Errorf("%s %s: function ARN %s", a, r, got)
			}
			bucket, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("soc-data")})
			if err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			if got := aws.ToString(bucket.BucketRegion); got != r {
				t.Errorf("%s %s: bucket region %s", a, r, got)
			}
			states := sfn.NewFromConfig(cfg)
			if _, err := states.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(scopeMachineARN(a, r))}); err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("%s %s: %v", a, r, err)
			}
			if aws.ToString(id.Account) != a || aws.ToString(id.Arn) != "arn:aws:sts::"+a+":assumed-role/socmond-reader/socmond" {
				t.Errorf("%s %s: caller %s in %s", a, r, aws.ToString(id.Arn), aws.ToString(id.Account))
			}
			// An event put here starts this scope's state machine only.
			put, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []eventtypes.PutEventsRequestEntry{
				{Source: aws.String("socmond.probe"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}})
			if err != nil || put.FailedEntryCount != 0 {
				t.Fatalf("%s %s: put events: %v %+v", a, r, err, put)
			}
			// Another scope's resource, named by its ARN, is not here.
			other := scopeAccounts[(indexOf(scopeAccounts, a)+1)%len(scopeAccounts)]
			_, err = dynamodb.NewFromConfig(cfg).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("arn:aws:dynamodb:" + r + ":" + other + ":table/soc-alerts")})
			wantAPIErr(t, err, "ResourceNotFoundException", 400)
			_, err = states.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(scopeMachineARN(other, r))})
			wantAPIErr(t, err, "StateMachineDoesNotExist", 400)
			perScope[scopeKey{a, r}] = 9
		}
	}

	for _, a := range scopeAccounts {
		if n := e.sim.AssumeRoleCount(readerRole(a)); n != 1 {
			t.Errorf("role of %s assumed %d times, want once for all its calls in both regions", a, n)
		}
	}
	got := map[scopeKey]int{}
	for _, c := range e.sim.Calls() {
		if c.Service == "sts" && c.Operation == "AssumeRole" {
			if c.Account != scopeAccounts[0] || c.Role != "" || c.Region != "us-east-1" || c.Status != http.StatusOK {
				t.Errorf("AssumeRole call %+v: want one signed with the default account's plain credentials", c)
			}
			continue
		}
		if c.Role != readerRole(c.Account) {
			t.Errorf("call %s %s in %s signed by %q, want the account's reader role", c.Service, c.Operation, c.Account, c.Role)
		}
		got[scopeKey{c.Account, c.Region}]++
	}
	for k, want := range perScope {
		if got[k] != want {
			t.Errorf("%s in %s: %d calls recorded, want %d", k.account, k.region, got[k], want)
		}
	}
	if len(got) != len(perScope) {
		t.Errorf("calls recorded in %v, want only the seeded scopes", got)
	}

	// Each scope's machine ran its own event, and the events say where
	// they were put.
	for _, a := range scopeAccounts {
		creds := e.assume(readerRole(a), externalIDOf(a))
		for _, r := range scopeRegions {
			states := sfn.NewFromConfig(e.in(creds, r))
			deadline := time.Now().Add(5 * time.Second)
			for {
				out, err := states.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(scopeMachineARN(a, r))})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Executions) == 1 {
					break
				}
				if len(out.Executions) > 1 || time.Now().After(deadline) {
					t.Fatalf("%s %s: %d executions, want the one of the event put there", a, r, len(out.Executions))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	seen := map[scopeKey]bool{}
	for _, ev := range e.sim.Events() {
		seen[scopeKey{ev.Account, ev.Region}] = true
	}
	if len(seen) != len(perScope) {
		t.Errorf("events put in %v, want one in each scope", seen)
	}
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// TestAssumeRoleDenied: a role not granted, or asked for without its
// external id, is AccessDenied through the SDK's provider, and only that
// role's clients fail.
func TestAssumeRoleDenied(t *testing.T) {
	e := start(t, scopedSeed())
	describe := func(creds aws.CredentialsProvider) error {
		_, err := dynamodb.NewFromConfig(e.in(creds, "eu-west-1")).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
		return err
	}
	denied := map[string]struct{ role, externalID string }{
		"unknown role":        {readerRole("444444444444"), ""},
		"missing external id": {readerRole(scopeAccounts[1]), ""},
		"wrong external id":   {readerRole(scopeAccounts[1]), "guess"},
	}
	for name, tc := range denied {
		t.Run(name, func(t *testing.T) {
			err := describe(e.assume(tc.role, tc.externalID))
			wantAPIErr(t, err, "AccessDenied", http.StatusForbidden)
			want := "User: arn:aws:iam::" + scopeAccounts[0] + ":user/socmond is not authorized to perform: sts:AssumeRole on resource: " + tc.role
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want it to say %q", err, want)
			}
		})
	}
	for _, a := range scopeAccounts {
		if err := describe(e.assume(readerRole(a), externalIDOf(a))); err != nil {
			t.Errorf("account %s after the refusals: %v", a, err)
		}
	}
	if n := e.sim.AssumeRoleCount(readerRole(scopeAccounts[1])); n != 3 {
		t.Errorf("AssumeRoleCount = %d, want the two refused and the granted call", n)
	}
	for _, c := range e.sim.Calls() {
		if c.Service == "dynamodb" && c.Role == "" {
			t.Errorf("a DynamoDB call went out without the role's credentials: %+v", c)
		}
	}
}

// TestAssumeRoleCachedUntilExpiry: a credentials cache assumes its role once
// per session, and again once the session is within its expiry window;
// no call in between is refused.
func TestAssumeRoleCachedUntilExpiry(t *testing.T) {
	e := start(t, scopedSeed())
	e.sim.SetCredentialLifetime(3 * time.Second)
	role := readerRole(scopeAccounts[2])
	creds := e.assume(role, "", func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Second })
	c := kms.NewFromConfig(e.in(creds, "eu-west-1"))
	// call makes a call and returns the cache's credentials, once the
	// role has been assumed want times.
	call := func(want int) aws.Credentials {
		t.Helper()
		if _, err := c.DescribeKey(ctx(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/soc")}); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.AssumeRoleCount(role); n != want {
			t.Fatalf("%d AssumeRole calls, want %d", n, want)
		}
		got, err := creds.Retrieve(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var first aws.Credentials
	for range 10 {
		first = call(1)
	}
	// The cache's Expires is the session's less its expiry window.
	if left := time.Until(first.Expires); left > 2*time.Second {
		t.Fatalf("cached credentials expire in %s, want the 3s session less the 1s window", left)
	}
	time.Sleep(time.Until(first.Expires) + 50*time.Millisecond)
	next := call(2)
	if next.AccessKeyID == first.AccessKeyID || !strings.HasPrefix(next.AccessKeyID, "ASIA") || len(next.AccessKeyID) != 20 {
		t.Errorf("access key ids %s then %s: want a new ASIA key of 20 characters per session", first.AccessKeyID, next.AccessKeyID)
	}
}

// TestExpiredCredentials: a client that keeps a session's credentials past
// their expiry is refused by every service, each with its own error.
func TestExpiredCredentials(t *testing.T) {
	e := start(t, scopedSeed())
	// Expirations are whole seconds: 2s leaves at least one for the call
	// before expiry.
	e.sim.SetCredentialLifetime(2 * time.Second)
	p := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(e.cfg), readerRole(scopeAccounts[2]))
	got, err := p.Retrieve(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	static := credentials.NewStaticCredentialsProvider(got.AccessKeyID, got.SecretAccessKey, got.SessionToken)
	cfg := e.in(static, "us-east-1")
	if _, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	time.Sleep(time.Until(got.Expires) + 50*time.Millisecond)

	_, err = dynamodb.NewFromConfig(cfg).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	wantAPIErr(t, err, "ExpiredTokenException", 400)
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("soc-data")})
	wantAPIErr(t, err, "ExpiredToken", 400)
	_, err = lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("triage")})
	wantAPIErr(t, err, "ExpiredTokenException", 403)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantAPIErr(t, err, "ExpiredToken", 403)
}

// TestScopeFaults: a fault with a Region fails or slows only that region's
// calls, one with an Account only that account's, in every other account
// and region the same calls answer at once.
func TestScopeFaults(t *testing.T) {
	e := start(t, scopedSeed())
	creds := map[string]aws.CredentialsProvider{}
	for _, a := range scopeAccounts {
		creds[a] = e.assume(readerRole(a), externalIDOf(a))
	}
	describe := func(a, r string, timeout time.Duration) error {
		c, cancel := context.WithTimeout(ctx(t), timeout)
		defer cancel()
		_, err := dynamodb.NewFromConfig(e.in(creds[a], r)).DescribeTable(c, &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
		return err
	}

	e.sim.AddFault(Fault{Service: "dynamodb", Region: "eu-west-1", Error: "ServiceUnavailable"})
	for _, a := range scopeAccounts {
		wantAPIErr(t, describe(a, "eu-west-1", 5*time.Second), "ServiceUnavailable", 503)
		if err := describe(a, "us-east-1", 5*time.Second); err != nil {
			t.Errorf("%s us-east-1 during eu-west-1's outage: %v", a, err)
		}
	}
	e.sim.ClearFaults()

	// A slow region holds its calls to their deadline; the other answers.
	e.sim.AddFault(Fault{Service: "dynamodb", Region: "us-east-1", Latency: "5s"})
	for _, a := range scopeAccounts {
		start := time.Now()
		if err := describe(a, "us-east-1", 200*time.Millisecond); err == nil {
			t.Errorf("%s us-east-1 answered through a 5s latency", a)
		}
		if err := describe(a, "eu-west-1", 2*time.Second); err != nil {
			t.Errorf("%s eu-west-1 while us-east-1 is slow: %v", a, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: %s for a timed-out and a prompt call", a, d)
		}
	}
	e.sim.ClearFaults()

	// Through the control API, one account.
	if status, body := postFault(t, e.url, `{"service":"dynamodb","account":"222222222222","error":"AccessDeniedException"}`); status != http.StatusCreated {
		t.Fatalf("POST account fault: %d %s", status, body)
	}
	for _, a := range scopeAccounts {
		for _, r := range scopeRegions {
			err := describe(a, r, 5*time.Second)
			if a == "222222222222" {
				wantAPIErr(t, err, "AccessDeniedException", 400)
			} else if err != nil {
				t.Errorf("%s %s during the other account's fault: %v", a, r, err)
			}
		}
	}
	for body, want := range map[string]string{
		`{"service":"dynamodb","region":"ap-east-1","error":"ServiceUnavailable"}`: `region \"ap-east-1\" is not served (have us-east-1, eu-west-1)`,
		`{"service":"dynamodb","account":"2222","error":"ServiceUnavailable"}`:     `bad account \"2222\"`,
	} {
		if status, got := postFault(t, e.url, body); status != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s, want 400 saying %s", body, status, got, want)
		}
	}
}

// TestUnseededScopes: any role may be assumed when the seed grants none; an
// account with nothing seeded is served empty in a served region, and a
// region nothing is seeded in is refused as on a single-region endpoint.
func TestUnseededScopes(t *testing.T) {
	e := start(t, Seed{Tables: []string{"soc-alerts"}, Scopes: []Seed{{Region: "eu-west-1", Tables: []string{"soc-alerts"}}}})
	role := readerRole("999999999999")
	creds := e.assume(role, "")
	_, err := dynamodb.NewFromConfig(e.in(creds, "eu-west-1")).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	wantAPIErr(t, err, "ResourceNotFoundException", 400)
	id, err := sts.NewFromConfig(e.in(creds, "eu-west-1")).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "999999999999" {
		t.Fatalf("caller %+v, %v: want the role's account", id, err)
	}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		if _, err := dynamodb.NewFromConfig(e.in(e.cfg.Credentials, r)).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")}); err != nil {
			t.Errorf("default account in %s: %v", r, err)
		}
	}
	_, err = dynamodb.NewFromConfig(e.in(e.cfg.Credentials, "ap-east-1")).DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	wantAPIErr(t, err, "InvalidSignatureException", 400)
	calls := e.sim.Calls()
	if c := calls[1]; c.Account != "999999999999" || c.Region != "eu-west-1" || c.Role != role {
		t.Errorf("call %+v: want it in the role's account and the signing region", c)
	}
}

func TestSeedScopesMisused(t *testing.T) {
	for name, seed := range map[string]Seed{
		"twice":         {Scopes: []Seed{{Region: "eu-west-1"}, {Region: "eu-west-1"}}},
		"default twice": {Scopes: []Seed{{AccountID: "123456789012"}}},
		"nested":        {Scopes: []Seed{{Region: "eu-west-1", Scopes: []Seed{{}}}}},
		"bad account":   {Scopes: []Seed{{AccountID: "12"}}},
		"bad role":      {Roles: []Role{{ARN: "arn:aws:iam::123456789012:user/x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(seed)
		})
	}
}
