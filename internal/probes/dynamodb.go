package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ServiceDynamoDB is DynamoDB's label value.
const ServiceDynamoDB = "dynamodb"

// DynamoDB is Amazon DynamoDB: the pipeline's tables.
var DynamoDB = Service{
	Name: ServiceDynamoDB, DisplayName: "DynamoDB", Resources: "table names or ARNs",
	Example: "soc-investigations",
	New:     func(c *awsclient.Clients, r Resource) Probe { return NewDynamoDBTable(c.DynamoDB, r.Name) },
	Read:    Access{Sid: "ReadDynamoDBTables", Actions: []string{"dynamodb:DescribeTable"}, ARN: TableARN},
	Env: []EnvVar{{Name: "DDB_INVESTIGATIONS_TABLE", Role: "investigations_table"},
		{Name: "DDB_METRICS_TABLE", Role: "metrics_table"}},
}

// TableARN is a DynamoDB table's ARN.
func TableARN(s Scope, name string) Grant {
	return Grant{Resource: s.named("dynamodb", "table/", name)}
}

// DynamoDBAPI is the part of the DynamoDB client the table probe uses.
type DynamoDBAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

type dynamoDBTable struct {
	c     DynamoDBAPI
	table string
}

// NewDynamoDBTable probes a table with DescribeTable.
func NewDynamoDBTable(c DynamoDBAPI, table string) Probe {
	return &dynamoDBTable{c: c, table: table}
}

func (p *dynamoDBTable) Target() Target {
	return Target{Service: ServiceDynamoDB, Resource: p.table}
}

func (p *dynamoDBTable) Check(ctx context.Context) Observation {
	obs := Observation{Check: "DescribeTable"}
	out, err := p.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.table)},
		func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.Table == nil {
		return invalid(obs, Degraded, "response had no Table", "")
	}
	t := out.Table
	obs.Detail = "TableStatus " + string(t.TableStatus)
	switch t.TableStatus {
	case types.TableStatusActive:
		if t.SSEDescription != nil && t.SSEDescription.Status == types.SSEStatusUpdating {
			return invalid(obs, Degraded, "TableStatus ACTIVE, SSEDescription.Status UPDATING",
				"The table's encryption settings are being changed; it stays usable. If this lasts, check the KMS key it is moving to is enabled and usable by DynamoDB")
		}
		obs.Status = Healthy
		return obs
	case types.TableStatusUpdating, types.TableStatusCreating:
		return invalid(obs, Degraded, obs.Detail,
			"The table is being created or changed (capacity, indexes, streams); it should return to ACTIVE by itself. If it does not, check recent UpdateTable calls in CloudTrail")
	case types.TableStatusArchiving:
		// Not a passing state: DynamoDB archives a table whose key has been
		// unusable for 7 days, and nothing can read it meanwhile.
		return invalid(obs, Unavailable, obs.Detail+sseKeyDetail(t),
			"DynamoDB is archiving the table because its KMS key has been unusable for 7 days: re-enable or restore the key now, then restore the table from its archive backup")
	case types.TableStatusInaccessibleEncryptionCredentials:
		return invalid(obs, Unavailable, obs.Detail+sseKeyDetail(t),
			"The table's KMS key is disabled, scheduled for deletion or no longer grants DynamoDB access: re-enable the key (or cancel its deletion, or restore the grant) within 7 days, or DynamoDB archives the table")
	case types.TableStatusArchived:
		return invalid(obs, Unavailable, obs.Detail+sseKeyDetail(t),
			"The table was archived after its KMS key stayed unusable: restore the key, then restore the table from the archival backup DynamoDB created")
	case types.TableStatusDeleting:
		return invalid(obs, Unavailable, obs.Detail,
			"The table is being deleted: find who deleted it in CloudTrail (DeleteTable) and restore it from a backup or point-in-time recovery")
	case types.TableStatusReplicationNotAuthorized:
		return invalid(obs, Unavailable, obs.Detail,
			"A global-table replica cannot replicate: check the KMS key in the replica's region is enabled and grants DynamoDB access, and that the region is enabled for the account")
	}
	return invalid(obs, Degraded, "unknown "+obs.Detail, "")
}

// sseKeyDetail names the key and when it became unusable, which a person
// needs to act before the 7-day archive deadline.
func sseKeyDetail(t *types.TableDescription) string {
	if t.SSEDescription == nil {
		return ""
	}
	s := ""
	if t.SSEDescription.KMSMasterKeyArn != nil {
		s += ", KMS key " + *t.SSEDescription.KMSMasterKeyArn
	}
	if d := t.SSEDescription.InaccessibleEncryptionDateTime; d != nil {
		s += fmt.Sprintf(", inaccessible since %s (archived after %s)", d.UTC().Format(time.RFC3339), d.Add(7*24*time.Hour).UTC().Format(time.RFC3339))
	}
	return s
}

func (p *dynamoDBTable) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "DynamoDB",
		action:   "dynamodb:DescribeTable",
		resource: "table " + p.table,
		notFound: fmt.Sprintf("Table %s was not found: check the table name and region %s; the table may have been deleted (see DeleteTable in CloudTrail)", p.table, regionOf(place)),
	}
	switch code {
	case "ProvisionedThroughputExceededException", "RequestLimitExceeded":
		return "DynamoDB account or table throughput is exhausted: check other consumers of the table and the account's request limits, and request a quota increase if the load is legitimate"
	}
	return a.hint(class)
}
