package probes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

// ServiceBedrock is Amazon Bedrock's label value.
const ServiceBedrock = "bedrock"

// Bedrock is Amazon Bedrock: its foundation models, and the opt-in runtime
// probe that invokes each with a one-token budget.
var Bedrock = Service{
	Name: ServiceBedrock, DisplayName: "Amazon Bedrock", Resources: "model ids",
	Example: "anthropic.claude-3-haiku-20240307-v1:0",
	New:     func(c *awsclient.Clients, r Resource) Probe { return NewBedrockModel(c.Bedrock, r.Name) },
	Read:    Access{Sid: "ReadBedrockModels", Actions: []string{"bedrock:GetFoundationModel"}, ARN: modelARN},
	Runtime: &Runtime{
		New: func(c *awsclient.Clients, r string, maxTokens int) Probe {
			return NewBedrockRuntime(c.BedrockRuntime, r, int32(maxTokens))
		},
		// bedrock:InvokeModel covers both calls, Converse (text models)
		// and InvokeModel (embedding models).
		Use: Access{Sid: "OptInBedrockInvokeModels", Actions: []string{"bedrock:InvokeModel"}, ARN: modelARN},
	},
	Env: []EnvVar{{Name: "BEDROCK_TEXT_MODEL"}, {Name: "BEDROCK_EMBED_MODEL"}},
}

// modelARN is a foundation model's: AWS owns it, so the ARN has no account.
func modelARN(s Scope, id string) Grant {
	if strings.HasPrefix(id, "arn:") {
		return Grant{Resource: id}
	}
	return Grant{Resource: "arn:" + s.Partition + ":bedrock:" + s.Region + "::foundation-model/" + id}
}

// BedrockAPI is the part of the Bedrock control-plane client the model probe uses.
type BedrockAPI interface {
	GetFoundationModel(ctx context.Context, in *bedrock.GetFoundationModelInput, optFns ...func(*bedrock.Options)) (*bedrock.GetFoundationModelOutput, error)
}

// BedrockRuntimeAPI is the part of the Bedrock runtime client the runtime probe uses.
type BedrockRuntimeAPI interface {
	Converse(ctx context.Context, in *bedrockruntime.ConverseInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error)
	InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, optFns ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error)
}

var (
	_ BedrockAPI        = (*bedrock.Client)(nil)
	_ BedrockRuntimeAPI = (*bedrockruntime.Client)(nil)
)

type bedrockModel struct {
	c       BedrockAPI
	modelID string
}

// NewBedrockModel probes a foundation model with GetFoundationModel: free,
// read-only, and it shows the model's lifecycle. It does not prove the
// account may invoke the model; NewBedrockRuntime does.
func NewBedrockModel(c BedrockAPI, modelID string) Probe {
	return &bedrockModel{c: c, modelID: modelID}
}

func (p *bedrockModel) Target() Target { return Target{Service: ServiceBedrock, Resource: p.modelID} }

func (p *bedrockModel) Check(ctx context.Context) Observation {
	obs := Observation{Check: "GetFoundationModel"}
	out, err := p.c.GetFoundationModel(ctx, &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String(p.modelID)},
		func(o *bedrock.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if out.ModelDetails == nil || out.ModelDetails.ModelLifecycle == nil {
		return invalid(obs, Degraded, "response had no modelLifecycle", "")
	}
	lc := out.ModelDetails.ModelLifecycle
	switch lc.Status {
	case types.FoundationModelLifecycleStatusActive:
		obs.Status = Healthy
		obs.Detail = "model ACTIVE"
		return obs
	case types.FoundationModelLifecycleStatusLegacy:
		// LEGACY models still answer, but can be withdrawn from inactive
		// accounts and move to extended-access pricing, so it is a warning.
		detail := "model LEGACY"
		if lc.EndOfLifeTime != nil {
			detail += ", end of life " + lc.EndOfLifeTime.UTC().Format(time.RFC3339)
		}
		if lc.PublicExtendedAccessTime != nil {
			detail += ", extended-access pricing from " + lc.PublicExtendedAccessTime.UTC().Format(time.RFC3339)
		}
		return invalid(obs, Degraded, detail,
			fmt.Sprintf("Model %s is LEGACY: migrate the SOC pipeline to an ACTIVE model before its end of life and budget for extended-access pricing meanwhile", p.modelID))
	}
	return invalid(obs, Degraded, "unknown model lifecycle "+string(lc.Status), "")
}

func (p *bedrockModel) Hint(place Place, class Class, code string, err error) string {
	return bedrockHint(place, p.modelID, "bedrock:GetFoundationModel", class, code)
}

type bedrockRuntime struct {
	c         BedrockRuntimeAPI
	modelID   string
	maxTokens int32
	embedding []byte // the InvokeModel body for an embedding model; nil: Converse
}

// NewBedrockRuntime probes the whole inference path (entitlement, quota,
// model) with the cheapest call the model takes: Converse capped at
// maxTokens output tokens for a text model, InvokeModel with a one-word
// embedding request for an embedding model, which refuses Converse. It
// costs money on every run, so it is off unless configured.
func NewBedrockRuntime(c BedrockRuntimeAPI, modelID string, maxTokens int32) Probe {
	return &bedrockRuntime{c: c, modelID: modelID, maxTokens: maxTokens, embedding: embeddingRequest(modelID)}
}

// embeddingRequest is the smallest request an embedding model's family
// takes (each family has its own body, and Bedrock refuses any key it does
// not know), or nil when modelID is not an embedding model. modelID may be
// an ARN or an inference profile id, so the family is found inside it.
func embeddingRequest(modelID string) []byte {
	id := strings.ToLower(modelID)
	switch {
	case !strings.Contains(id, "embed"):
		return nil
	case strings.Contains(id, "cohere.embed"):
		return []byte(`{"texts":["ping"],"input_type":"search_query"}`)
	case strings.Contains(id, "titan-embed-text-v2"):
		// The smallest vector v2 offers: less to send back.
		return []byte(`{"inputText":"ping","dimensions":256}`)
	default:
		// Titan v1 (text and multimodal) takes inputText alone.
		return []byte(`{"inputText":"ping"}`)
	}
}

func (p *bedrockRuntime) Target() Target {
	return Target{Service: ServiceBedrock, Resource: "runtime:" + p.modelID}
}

func (p *bedrockRuntime) Check(ctx context.Context) Observation {
	if p.embedding != nil {
		return p.embed(ctx)
	}
	obs := Observation{Check: "Converse"}
	out, err := p.c.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(p.modelID),
		Messages: []rttypes.Message{{
			Role:    rttypes.ConversationRoleUser,
			Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "ping"}},
		}},
		InferenceConfig: &rttypes.InferenceConfiguration{MaxTokens: aws.Int32(p.maxTokens)},
	}, oneRuntimeAttempt)
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	// Any answer proves the path works; stopReason max_tokens is expected.
	obs.Status = Healthy
	obs.Detail = "stopReason " + string(out.StopReason)
	if out.Usage != nil {
		obs.Detail += fmt.Sprintf(", %d input and %d output tokens", aws.ToInt32(out.Usage.InputTokens), aws.ToInt32(out.Usage.OutputTokens))
	}
	return obs
}

func oneRuntimeAttempt(o *bedrockruntime.Options) { o.Retryer = aws.NopRetryer{} }

// embed invokes an embedding model. The SDK hands InvokeModel's body over
// undecoded, so the probe reads it: a 200 without an embedding in it is
// the model failing to answer, as an undecodable body is for the other
// calls.
func (p *bedrockRuntime) embed(ctx context.Context) Observation {
	obs := Observation{Check: "InvokeModel"}
	out, err := p.c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(p.modelID),
		ContentType: aws.String("application/json"),
		Accept:      aws.String("application/json"),
		Body:        p.embedding,
	}, oneRuntimeAttempt)
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	n, err := embeddingSize(out.Body)
	if err != nil {
		obs.Err = &smithy.DeserializationError{Err: fmt.Errorf("InvokeModel answer: %w", err)}
		return obs
	}
	obs.Status = Healthy
	obs.Detail = fmt.Sprintf("embedding of %d dimensions", n)
	return obs
}

// embeddingSize is the length of the first embedding in an answer: Titan's
// {"embedding":[…]}, Cohere's {"embeddings":[[…]]} or, when the request
// named embedding types, {"embeddings":{"float":[[…]]}}.
func embeddingSize(body []byte) (int, error) {
	var a struct {
		Embedding  []float64       `json:"embedding"`
		Embeddings json.RawMessage `json:"embeddings"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, err
	}
	if len(a.Embedding) > 0 {
		return len(a.Embedding), nil
	}
	var list [][]float64
	if json.Unmarshal(a.Embeddings, &list) != nil {
		var byType map[string][][]float64
		if json.Unmarshal(a.Embeddings, &byType) == nil {
			for _, l := range byType {
				list = l
				break
			}
		}
	}
	if len(list) > 0 && len(list[0]) > 0 {
		return len(list[0]), nil
	}
	return 0, errors.New("no embedding in the answer")
}

// reclassify reads Bedrock runtime's answer to an unknown model id: a 400
// ValidationException "The provided model identifier is invalid.", not the
// 404 the model declares. The message is the only thing that tells it from
// a malformed request, so it is matched here, for this one call only.
func (p *bedrockRuntime) reclassify(class Class, code string, err error) Class {
	var apiErr smithy.APIError
	if code == "ValidationException" && errors.As(err, &apiErr) &&
		strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "model identifier is invalid") {
		return ClassNotFound
	}
	return class
}

func (p *bedrockRuntime) Hint(place Place, class Class, code string, err error) string {
	return bedrockHint(place, p.modelID, "bedrock:InvokeModel", class, code)
}

// bedrockHint serves both Bedrock probes: they differ only in the IAM action.
func bedrockHint(place Place, modelID, action string, class Class, code string) string {
	a := advice{
		place:    place,
		name:     "Bedrock",
		action:   action,
		resource: "model " + modelID,
		notFound: fmt.Sprintf("Model %s was not found: check the model id (including its version suffix) and that the model is offered in this region %s; some models are only reachable through an inference profile", modelID, regionOf(place)),
	}
	switch {
	case class == ClassAuth:
		return fmt.Sprintf("Enable access to model %s in the Bedrock console (Model access) and grant bedrock:GetFoundationModel/bedrock:InvokeModel on its ARN to %s; check the role's credentials are present and not expired", modelID, roleOf(place))
	case code == "ModelNotReadyException":
		return fmt.Sprintf("Model %s is not ready to serve yet (ModelNotReadyException); the SDK does not retry it. If it persists, check the model's status and Bedrock in the AWS Health Dashboard", modelID)
	case code == "ServiceQuotaExceededException":
		return fmt.Sprintf("A Bedrock quota for model %s is exhausted: check tokens/requests-per-minute quotas in Service Quotas and other consumers of the model in the account", modelID)
	case code == "ModelTimeoutException", code == "ModelErrorException":
		return fmt.Sprintf("Model %s failed to answer (%s): check the AWS Health Dashboard for Bedrock; if it persists, open a support case quoting the request id", modelID, code)
	}
	return a.hint(class)
}
