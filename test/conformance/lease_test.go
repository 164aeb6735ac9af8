package conformance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/leader"
)

const leaseTable = "socmond-leases"

// leaseBackends hold the lease table (partition key "lease") in the
// simulator and in dynalite.
func leaseBackends(t *testing.T) []*ddbBackend {
	t.Helper()
	_, url := awssim.Serve(t, awssim.Seed{Region: region, AccountID: account, Tables: []string{leaseTable},
		TableKeys: map[string]string{leaseTable: leader.KeyAttribute}})
	d := dynalite(t)
	d.createKeyedTable(t, leaseTable, leader.KeyAttribute)
	d.waitActive(t, leaseTable)
	return []*ddbBackend{{name: "sim", client: newClients(t, url).DynamoDB}, d}
}

// TestLease runs the calls the DynamoDB leader lease makes — conditional
// PutItem on the key's absence and on a record version, strongly
// consistent GetItem — against the simulator and dynalite, then the
// elector itself.
func TestLease(t *testing.T) {
	t.Parallel()
	backends := leaseBackends(t)
	onEach(t, "conditional writes", backends, func(t *testing.T, b *ddbBackend) []string {
		return leaseCalls(t, b.client)
	})
	onEach(t, "elector", backends, func(t *testing.T, b *ddbBackend) bool {
		return electOnce(t, b.client)
	})
}

// leaseCalls plays a lease's life in raw calls and returns what each
// answered: "ok" or the AWS error code.
func leaseCalls(t *testing.T, c *dynamodb.Client) []string {
	item := func(holder, rvn string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			leader.KeyAttribute: &types.AttributeValueMemberS{Value: "conformance"},
			"holder":            &types.AttributeValueMemberS{Value: holder},
			"rvn":               &types.AttributeValueMemberS{Value: rvn},
			"token":             &types.AttributeValueMemberN{Value: "1"},
		}
	}
	put := func(holder, rvn, cond string, names map[string]string, values map[string]types.AttributeValue) string {
		_, err := c.PutItem(callCtx(t), &dynamodb.PutItemInput{TableName: aws.String(leaseTable), Item: item(holder, rvn),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values})
		return code(err)
	}
	v := func(s string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: s}}
	}
	key := map[string]string{"#k": leader.KeyAttribute}
	rvn := map[string]string{"#v": "rvn"}
	got := []string{
		put("a", "1", "attribute_not_exists(#k)", key, nil), // ok: no lease yet
		put("b", "2", "attribute_not_exists(#k)", key, nil), // refused: a holds it
		put("a", "3", "#v = :v", rvn, v("1")),               // ok: a renews on its version
		put("b", "4", "#v = :v", rvn, v("1")),               // refused: b read a stale version
		put("b", "5", "#v = :v", rvn, v("3")),               // ok: b takes over on the current one
		// AWS refuses names and values the expression does not use.
		put("c", "6", "#v = :v", map[string]string{"#v": "rvn", "#k": leader.KeyAttribute}, v("5")),
		put("c", "7", "#v = :v", rvn, map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "5"}, ":w": &types.AttributeValueMemberS{Value: "x"}}),
		put("c", "8", "#v = :v", rvn, nil), // an undefined value
	}
	out, err := c.GetItem(callCtx(t), &dynamodb.GetItemInput{TableName: aws.String(leaseTable), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{leader.KeyAttribute: &types.AttributeValueMemberS{Value: "conformance"}}})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	h, _ := out.Item["holder"].(*types.AttributeValueMemberS)
	r, _ := out.Item["rvn"].(*types.AttributeValueMemberS)
	if h == nil || r == nil {
		t.Fatalf("GetItem returned %v", out.Item)
	}
	got = append(got, "holder="+h.Value+" rvn="+r.Value)
	want := []string{"ok", "ConditionalCheckFailedException", "ok", "ConditionalCheckFailedException", "ok",
		"ValidationException", "ValidationException", "ValidationException", "holder=b rvn=5"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("call %d answered %v, want %v", i, got, want)
			break
		}
	}
	return got
}

func code(err error) string {
	if err == nil {
		return "ok"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

// electOnce runs two electors on the table: one leads, the other does not,
// and a released lease passes to the other.
func electOnce(t *testing.T, c *dynamodb.Client) bool {
	timing := leader.Timing{LeaseDuration: 1500 * time.Millisecond, RenewDeadline: time.Second, RetryPeriod: 150 * time.Millisecond}
	type replica struct {
		e    *leader.DynamoDB
		stop context.CancelFunc
		done chan struct{}
	}
	mk := func(id string) *replica {
		e, err := leader.NewDynamoDB(leader.DynamoDBOptions{Client: c, Table: leaseTable, Name: "elect", Identity: id, Timing: timing, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{e: e, stop: cancel, done: make(chan struct{})}
		go func() { defer close(r.done); e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a, b := mk("a"), mk("b")
	leads := func(r *replica) bool { _, ok := r.e.Term(); return ok }
	deadline := time.Now().Add(10 * timing.LeaseDuration)
	for !leads(a) && !leads(b) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	first, second := a, b
	if leads(b) {
		first, second = b, a
	}
	if !leads(first) || leads(second) {
		t.Fatalf("want exactly one leader: a=%v b=%v", leads(a), leads(b))
	}
	tok, _ := first.e.Term()
	first.stop()
	<-first.done
	deadline = time.Now().Add(timing.LeaseDuration)
	for !leads(second) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t2, ok := second.e.Term()
	if !ok {
		t.Fatalf("the released lease did not pass to the other replica within %s", timing.LeaseDuration)
	}
	if t2.Token != tok.Token+1 {
		t.Errorf("token %d after %d, want one more", t2.Token, tok.Token)
	}
	return true
}
