package awssim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestSTS(t *testing.T) {
	e := start(t, Seed{AccountID: "210987654321", Region: "ap-east-1"})
	e.cfg.Region = "ap-east-1"
	c := e.sts()
	id, err := c.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "210987654321" || aws.ToString(id.Arn) != "arn:aws:iam::210987654321:user/socmond" {
		t.Fatalf("identity %+v", id)
	}
	role, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/socmond-reader"), RoleSessionName: aws.String("socmond")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(role.AssumedRoleUser.Arn) != "arn:aws:sts::111122223333:assumed-role/socmond-reader/socmond" || role.Credentials.Expiration == nil {
		t.Fatalf("assume role %+v", role.AssumedRoleUser)
	}
	_, err = c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn"), RoleSessionName: aws.String("socmond")})
	wantAPIErr(t, err, "ValidationError", 400)

	e.sim.AddFault(Fault{Service: "sts", Error: "InvalidClientTokenId", Count: 1})
	_, err = c.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantAPIErr(t, err, "InvalidClientTokenId", 403)
	e.sim.AddFault(Fault{Service: "sts", Malformed: true, Count: 1})
	_, err = c.GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantDeserializationErr(t, err)
}

// TestSTSWebIdentity drives the SDK's own web identity provider (what
// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN select) against the simulator:
// the unsigned AssumeRoleWithWebIdentity call, the forced short lifetime, and
// an injected STS error surfacing as the provider's error.
func TestSTSWebIdentity(t *testing.T) {
	e := start(t, Seed{})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.test.token"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := stscreds.NewWebIdentityRoleProvider(e.sts(), "arn:aws:iam::123456789012:role/socmond", stscreds.IdentityTokenFile(tokenFile),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "socmond" })
	creds, err := p.Retrieve(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID == "" || creds.SessionToken == "" || !creds.CanExpire || time.Until(creds.Expires) < 50*time.Minute {
		t.Fatalf("credentials %+v: want a session token expiring in an hour", creds)
	}
	e.sim.SetCredentialLifetime(5 * time.Second)
	creds, err = p.Retrieve(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(creds.Expires); left > 6*time.Second {
		t.Fatalf("credentials expire in %s, want the forced 5s", left)
	}
	e.sim.AddFault(Fault{Service: "sts", Error: "ExpiredTokenException", Count: 1})
	_, err = p.Retrieve(ctx(t))
	wantAPIErr(t, err, "ExpiredTokenException", 400)

	_, err = e.sts().AssumeRoleWithWebIdentity(ctx(t), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/socmond"), RoleSessionName: aws.String("socmond"),
		WebIdentityToken: aws.String("token"), DurationSeconds: aws.Int32(60)})
	wantAPIErr(t, err, "ValidationError", 400)
}
