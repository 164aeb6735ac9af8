package leader

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rs/zerolog"
)

// The lease item's attributes. The table's partition key is KeyAttribute
// (type S); one item per lease name.
const (
	KeyAttribute = "lease"
	attrHolder   = "holder"
	// attrRVN is the record version: a random value every write replaces.
	// Every conditional write names the version it read, so of two writers
	// racing on one version exactly one wins (the Amazon DynamoDB Lock
	// Client's recordVersionNumber).
	attrRVN = "rvn"
	// attrToken is the fencing token: 1 for the first holder, one more at
	// every acquisition, kept by renewals.
	attrToken    = "token"
	attrDuration = "lease_duration_ms"
	attrRenewed  = "renewed_at" // for people reading the table; nobody trusts another host's clock
)

// DynamoDBAPI is the part of the DynamoDB client the lease needs.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// DynamoDBOptions configure a DynamoDB elector.
type DynamoDBOptions struct {
	Client   DynamoDBAPI
	Table    string
	Name     string // the lease item's key, default DefaultLeaseName
	Identity string
	Timing   Timing
	Logger   zerolog.Logger
	Now      func() time.Time // default time.Now (monotonic)
}

// DynamoDB keeps a lease item in a DynamoDB table with conditional writes,
// the way client-go keeps a Lease: no home-made consensus, only
// DynamoDB's own atomic conditional PutItem.
//
//   - No item: PutItem if attribute_not_exists(lease) → holder, token 1.
//   - The holder renews every retry period: PutItem if rvn = the version it
//     wrote last, with a new version. A failed condition means another
//     replica took the lease: the term ends at once.
//   - A contender reads the item (strongly consistent) every retry period
//     and notes when, on its own clock, it first saw the current version.
//     When that version has not changed for the holder's lease duration, or
//     the holder released it (holder ""), it writes itself in with
//     rvn = that version and token + 1.
//   - A replica whose term ended (a pause, a partition) but whose own
//     version is still in the item writes on that version again: the
//     condition proves nobody wrote in between, so nobody led.
//   - On shutdown the holder releases: holder "", so a contender takes over
//     at its next look instead of a lease duration later.
//
// No clock is compared across hosts: the item's renewed_at is for people.
type DynamoDB struct {
	*state
	o DynamoDBOptions

	// Owned by Run's goroutine.
	rvn string // the version this replica wrote last and knows landed
	// unsure is a version whose write returned an error other than a failed
	// condition: it may have landed, and then this replica holds it.
	unsure     string
	observed   string // the version a contender is waiting out
	observedAt time.Time
}

// NewDynamoDB returns an elector on the lease item o.Name of o.Table.
func NewDynamoDB(o DynamoDBOptions) (*DynamoDB, error) {
	if err := defaults(&o.Name, &o.Timing); err != nil {
		return nil, err
	}
	if o.Client == nil || o.Table == "" || o.Identity == "" {
		return nil, fmt.Errorf("leader election: the dynamodb backend needs a client, a table and an identity")
	}
	return &DynamoDB{state: newState("dynamodb", o.Identity, o.Timing.RenewDeadline, o.Now), o: o}, nil
}

// Run campaigns until ctx ends, then releases the lease if it holds it.
func (d *DynamoDB) Run(ctx context.Context) {
	for {
		d.tick(ctx)
		wait := d.o.Timing.RetryPeriod
		if !d.Status().Leading {
			// Contenders spread their looks, as client-go's jitter does.
			wait += time.Duration(float64(wait) * 0.2 * jitter())
		}
		select {
		case <-ctx.Done():
			d.release()
			return
		case <-time.After(wait):
		}
	}
}

func jitter() float64 {
	var b [1]byte
	_, _ = rand.Read(b[:])
	return float64(b[0]) / 255
}

// record is the lease item as read.
type record struct {
	holder   string
	rvn      string
	token    int64
	duration time.Duration
}

func (d *DynamoDB) tick(ctx context.Context) {
	if _, ok := d.Term(); ok {
		d.renew(ctx)
		return
	}
	if d.Status().Leading {
		// The flag is still up but the lease is past its renew deadline
		// (a pause, a slow network): end the term before anything else.
		d.lost("")
	}
	start := d.now()
	rec, err := d.get(ctx)
	if err != nil {
		d.o.Logger.Warn().Err(err).Str("table", d.o.Table).Msg("leader election: cannot read the lease")
		return
	}
	switch {
	case rec == nil:
		d.write(ctx, start, 1, condNew())
	case rec.holder == d.identity && (rec.rvn == d.rvn || rec.rvn == d.unsure):
		d.write(ctx, start, rec.token, condVersion(rec.rvn))
	case rec.holder == "":
		d.observe("")
		d.write(ctx, start, rec.token+1, condVersion(rec.rvn))
	case rec.rvn != d.observed:
		d.observed, d.observedAt = rec.rvn, start
		d.observe(rec.holder)
	case start.Sub(d.observedAt) >= rec.duration:
		d.o.Logger.Info().Str("holder", rec.holder).Stringer("unchanged_for", start.Sub(d.observedAt).Round(time.Millisecond)).
			Msg("leader election: the lease was not renewed within its duration; taking it over")
		d.write(ctx, start, rec.token+1, condVersion(rec.rvn))
	}
}

// renew extends this replica's valid lease.
func (d *DynamoDB) renew(ctx context.Context) {
	start := d.now()
	token := d.Status().Token
	rvn, err := d.put(ctx, d.identity, token, condVersion(d.rvn))
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		d.rvn, d.unsure = rvn, ""
		d.renewed(start, token)
	case errors.As(err, &ccf):
		// Another version is in the item: someone else's, unless an
		// earlier write landed without its answer.
		rec, gerr := d.get(ctx)
		if gerr == nil && rec != nil && rec.holder == d.identity && rec.rvn == d.unsure {
			d.rvn, d.unsure = rec.rvn, ""
			return // renewed at the next tick; the term stands until its deadline
		}
		holder := ""
		if rec != nil {
			holder = rec.holder
			d.observed, d.observedAt = rec.rvn, d.now()
		}
		d.o.Logger.Warn().Str("holder", holder).Msg("leader election: the lease was taken over")
		d.lost(holder)
	default:
		// The term ends by itself at the renew deadline if this goes on.
		d.unsure = rvn
		d.o.Logger.Warn().Err(err).Msg("leader election: renewing the lease failed")
	}
}

// write acquires the lease under cond.
func (d *DynamoDB) write(ctx context.Context, start time.Time, token int64, cond condition) {
	rvn, err := d.put(ctx, d.identity, token, cond)
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		d.rvn, d.unsure, d.observed = rvn, "", ""
		d.renewed(start, token)
	case errors.As(err, &ccf):
		// Another replica wrote first; the next look sees its version.
	default:
		d.unsure = rvn
		d.o.Logger.Warn().Err(err).Msg("leader election: acquiring the lease failed")
	}
}

type condition struct {
	expr   string
	values map[string]types.AttributeValue
}

func condNew() condition { return condition{expr: "attribute_not_exists(#k)"} }

func condVersion(rvn string) condition {
	return condition{expr: "#v = :v", values: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: rvn}}}
}

// put writes the lease item with a new version under cond and returns
// that version. One attempt: the loop is the retry, and a conditional write
// retried after a lost answer would fail its own condition.
func (d *DynamoDB) put(ctx context.Context, holder string, token int64, cond condition) (string, error) {
	rvn := randomHex(16)
	ctx, cancel := context.WithTimeout(ctx, d.o.Timing.RetryPeriod)
	defer cancel()
	names := map[string]string{"#k": KeyAttribute}
	if cond.values != nil {
		names = map[string]string{"#v": attrRVN}
	}
	_, err := d.o.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &d.o.Table,
		Item: map[string]types.AttributeValue{
			KeyAttribute: &types.AttributeValueMemberS{Value: d.o.Name},
			attrHolder:   &types.AttributeValueMemberS{Value: holder},
			attrRVN:      &types.AttributeValueMemberS{Value: rvn},
			attrToken:    &types.AttributeValueMemberN{Value: strconv.FormatInt(token, 10)},
			attrDuration: &types.AttributeValueMemberN{Value: strconv.FormatInt(d.o.Timing.LeaseDuration.Milliseconds(), 10)},
			attrRenewed:  &types.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
		},
		ConditionExpression:       &cond.expr,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: cond.values,
	}, oneAttempt)
	return rvn, err
}

func oneAttempt(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }

// get reads the lease item, strongly consistent: an eventually consistent
// read could show a version already replaced.
func (d *DynamoDB) get(ctx context.Context) (*record, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.Timing.RetryPeriod)
	defer cancel()
	out, err := d.o.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &d.o.Table,
		Key:            map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: d.o.Name}},
		ConsistentRead: aws.Bool(true),
	}, oneAttempt)
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	rec := &record{holder: str(out.Item[attrHolder]), rvn: str(out.Item[attrRVN]), duration: d.o.Timing.LeaseDuration}
	rec.token, _ = strconv.ParseInt(num(out.Item[attrToken]), 10, 64)
	if ms, err := strconv.ParseInt(num(out.Item[attrDuration]), 10, 64); err == nil && ms > 0 {
		// The holder's duration, not this replica's: replicas mid-rollout
		// may run different settings.
		rec.duration = time.Duration(ms) * time.Millisecond
	}
	return rec, nil
}

func str(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func num(av types.AttributeValue) string {
	if n, ok := av.(*types.AttributeValueMemberN); ok {
		return n.Value
	}
	return ""
}

// release hands the lease back on shutdown, keeping the token so the next
// holder's is still one more.
func (d *DynamoDB) release() {
	st := d.Status()
	if !st.Leading {
		return
	}
	d.lost("") // stop the singleton work before the lease is given up
	ctx, cancel := context.WithTimeout(context.Background(), d.o.Timing.RetryPeriod)
	defer cancel()
	if _, err := d.put(ctx, "", st.Token, condVersion(d.rvn)); err != nil {
		d.o.Logger.Warn().Err(err).Msg("leader election: releasing the lease failed; another replica takes over when it expires")
		return
	}
	d.o.Logger.Info().Msg("leader election: lease released")
}
