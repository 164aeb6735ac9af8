package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
