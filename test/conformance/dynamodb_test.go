package conformance_test

import (
	"errors"
	"hash/crc32"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	ddbTable         = "soc-alerts"
	ddbCreatingTable = "soc-alerts-next"
	ddbUnknownTable  = "soc-no-such-table"

	// dynaliteCreateMs is how long dynalite keeps a new table CREATING: long
	// enough to probe a CREATING table right after CreateTable, short
	// enough to wait out for the ACTIVE one.
	dynaliteCreateMs = 1500
)

// ddbBackend is one DynamoDB implementation holding the ACTIVE table
// ddbTable, and able to present ddbCreatingTable as CREATING.
type ddbBackend struct {
	name   string
	client *dynamodb.Client
	// creating makes ddbCreatingTable CREATING for the next DescribeTable.
	creating func(t *testing.T)
}

func (b *ddbBackend) Name() string { return b.name }

func ddbBackends(t *testing.T) []*ddbBackend {
	t.Helper()
	return []*ddbBackend{simDynamoDB(t), dynalite(t)}
}

func simDynamoDB(t *testing.T) *ddbBackend {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{Region: region, AccountID: account, Tables: []string{ddbTable, ddbCreatingTable}})
	return &ddbBackend{
		name:   "sim",
		client: newClients(t, url).DynamoDB,
		creating: func(*testing.T) {
			sim.AddFault(awssim.Fault{Service: "dynamodb", Resource: ddbCreatingTable, State: "CREATING", Count: 1})
		},
	}
}

func dynalite(t *testing.T) *ddbBackend {
	t.Helper()
	bin := testenv.Tool(t, "dynalite")
	port := testenv.FreePort(t)
	addr := testenv.Addr(port)
	testenv.Start(t, addr, nil, bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", strconv.Itoa(dynaliteCreateMs))
	b := &ddbBackend{name: "dynalite", client: newClients(t, "http://"+addr).DynamoDB}
	b.createTable(t, ddbTable)
	b.waitActive(t, ddbTable)
	b.creating = func(t *testing.T) { b.createTable(t, ddbCreatingTable) }
	return b
}

// waitActive waits until dynalite has created a table.
func (b *ddbBackend) waitActive(t *testing.T, name string) {
	t.Helper()
	w := dynamodb.NewTableExistsWaiter(b.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 250*time.Millisecond
	})
	if err := w.Wait(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 15*time.Second); err != nil {
		t.Fatalf("dynalite: table %s did not become ACTIVE: %v", name, err)
	}
}

func (b *ddbBackend) createTable(t *testing.T, name string) { b.createKeyedTable(t, name, "pk") }

// createKeyedTable creates an on-demand table whose partition key (type
// S) is key.
func (b *ddbBackend) createKeyedTable(t *testing.T, name, key string) {
	t.Helper()
	_, err := b.client.CreateTable(callCtx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("%s: CreateTable %s: %v", b.name, name, err)
	}
}

// TestDynamoDB runs every DynamoDB case against one simulator and one
// dynalite.
func TestDynamoDB(t *testing.T) {
	t.Parallel()
	backends := ddbBackends(t)
	t.Run("probe", func(t *testing.T) { testDynamoDBTableProbe(t, backends) })
	t.Run("wire", func(t *testing.T) { testDynamoDBWire(t, backends) })
}

func testDynamoDBTableProbe(t *testing.T, backends []*ddbBackend) {
	probeOnEach(t, "existing table", backends,
		expect{Status: probes.Healthy, Detail: "TableStatus ACTIVE"},
		func(t *testing.T, b *ddbBackend) probes.Probe { return probes.NewDynamoDBTable(b.client, ddbTable) })

	probeOnEach(t, "unknown table", backends,
		expect{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "ResourceNotFoundException"},
		func(t *testing.T, b *ddbBackend) probes.Probe {
			return probes.NewDynamoDBTable(b.client, ddbUnknownTable)
		})

	// A table still being created answers DescribeTable with CREATING.
	probeOnEach(t, "table being created", backends,
		expect{Status: probes.Degraded, Class: probes.ClassInvalidState, Detail: "TableStatus CREATING"},
		func(t *testing.T, b *ddbBackend) probes.Probe {
			b.creating(t)
			return probes.NewDynamoDBTable(b.client, ddbCreatingTable)
		})
}

// wireFacts is what the SDK hides but AWS guarantees on a DynamoDB response.
type wireFacts struct {
	HTTPStatus int
	CRC32Valid bool
}

// testDynamoDBWire compares the HTTP status of DescribeTable answers and checks
// that both backends send a valid X-Amz-Crc32 (the decimal CRC-32/IEEE of the
// raw body), on success and on error: the SDK checks it on every response and
// only logs a warning when it is wrong.
//
// SSEDescription is not compared: dynalite drops SSESpecification (known gap).
func testDynamoDBWire(t *testing.T, backends []*ddbBackend) {
	for _, tc := range []struct {
		name  string
		table string
		want  wireFacts
	}{
		{"existing table", ddbTable, wireFacts{HTTPStatus: 200, CRC32Valid: true}},
		// DynamoDB sends every client error, not-found included, as 400.
		{"unknown table", ddbUnknownTable, wireFacts{HTTPStatus: 400, CRC32Valid: true}},
	} {
		onEach(t, "DescribeTable "+tc.name, backends, func(t *testing.T, b *ddbBackend) wireFacts {
			rec := &recorder{}
			_, err := b.client.DescribeTable(callCtx(t), &dynamodb.DescribeTableInput{TableName: aws.String(tc.table)},
				func(o *dynamodb.Options) { rec.next = o.HTTPClient; o.HTTPClient = rec })
			raw := rec.Last(t)
			got := wireFacts{HTTPStatus: raw.Status, CRC32Valid: crc32Valid(t, raw)}
			if tc.want.HTTPStatus >= 400 {
				var re *awshttp.ResponseError
				if !errors.As(err, &re) {
					t.Fatalf("error %v (%T) is not an *awshttp.ResponseError", err, err)
				}
				if re.HTTPStatusCode() != raw.Status {
					t.Errorf("ResponseError.HTTPStatusCode() = %d, wire status %d", re.HTTPStatusCode(), raw.Status)
				}
				got.HTTPStatus = re.HTTPStatusCode()
			} else if err != nil {
				t.Fatalf("DescribeTable: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			return got
		})
	}
}

// crc32Valid reports whether X-Amz-Crc32 holds the CRC-32 of the raw body.
func crc32Valid(t *testing.T, raw *rawResponse) bool {
	t.Helper()
	h := raw.Header.Get("X-Amz-Crc32")
	if h == "" {
		t.Errorf("no X-Amz-Crc32 header")
		return false
	}
	v, err := strconv.ParseUint(h, 10, 32)
	if want := crc32.ChecksumIEEE(raw.Body); err != nil || uint32(v) != want {
		t.Errorf("X-Amz-Crc32 = %q, want %d (CRC-32 of the %d-byte body)", h, want, len(raw.Body))
		return false
	}
	return true
}
