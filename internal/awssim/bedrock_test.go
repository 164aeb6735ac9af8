package awssim

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestBedrockGetFoundationModel(t *testing.T) {
	e := start(t, testSeed())
	c := e.bedrock()
	out, err := c.GetFoundationModel(ctx(t), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String(haiku)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ModelDetails
	if aws.ToString(d.ModelId) != haiku || d.ModelLifecycle.Status != btypes.FoundationModelLifecycleStatusActive ||
		aws.ToString(d.ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/"+haiku || aws.ToString(d.ProviderName) != "Anthropic" {
		t.Fatalf("details %+v", d)
	}
	// The id's ':' travels as %3A; the call log shows the unescaped id.
	calls := e.sim.Calls()
	if last := calls[len(calls)-1]; last.Resource != haiku || last.Operation != "GetFoundationModel" || last.Service != "bedrock" {
		t.Fatalf("call %+v", last)
	}
	_, err = c.GetFoundationModel(ctx(t), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("anthropic.claude-v9")})
	wantAPIErr(t, err, "ResourceNotFoundException", 404)

	list, err := c.ListFoundationModels(ctx(t), &bedrock.ListFoundationModelsInput{ByProvider: aws.String("amazon")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ModelSummaries) != 1 || aws.ToString(list.ModelSummaries[0].ModelId) != titan || list.ModelSummaries[0].OutputModalities[0] != btypes.ModelModalityEmbedding {
		t.Fatalf("summaries %+v", list.ModelSummaries)
	}
	avail, err := c.GetFoundationModelAvailability(ctx(t), &bedrock.GetFoundationModelAvailabilityInput{ModelId: aws.String(haiku)})
	if err != nil || avail.AuthorizationStatus != btypes.AuthorizationStatusAuthorized {
		t.Fatalf("availability %+v %v", avail, err)
	}
}

func TestBedrockFaults(t *testing.T) {
	tests := map[string]struct {
		fault      Fault
		wantCode   string
		wantStatus int
		wantState  btypes.FoundationModelLifecycleStatus
		malformed  bool
	}{
		"throttled":     {fault: Fault{Service: "bedrock", Error: "ThrottlingException"}, wantCode: "ThrottlingException", wantStatus: 429},
		"access denied": {fault: Fault{Service: "bedrock", Error: "AccessDeniedException"}, wantCode: "AccessDeniedException", wantStatus: 403},
		"unavailable":   {fault: Fault{Service: "bedrock", Error: "ServiceUnavailableException"}, wantCode: "ServiceUnavailableException", wantStatus: 503},
		"legacy":        {fault: Fault{Service: "bedrock", Resource: haiku, State: "LEGACY"}, wantState: btypes.FoundationModelLifecycleStatusLegacy},
		"other model":   {fault: Fault{Service: "bedrock", Resource: titan, State: "LEGACY"}, wantState: btypes.FoundationModelLifecycleStatusActive},
		"malformed":     {fault: Fault{Service: "bedrock", Malformed: true}, malformed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := start(t, testSeed())
			e.sim.AddFault(tc.fault)
			out, err := e.bedrock().GetFoundationModel(ctx(t), &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String(haiku)})
			switch {
			case tc.malformed:
				wantDeserializationErr(t, err)
			case tc.wantCode != "":
				wantAPIErr(t, err, tc.wantCode, tc.wantStatus)
			default:
				if err != nil {
					t.Fatal(err)
				}
				lc := out.ModelDetails.ModelLifecycle
				if lc.Status != tc.wantState || (tc.wantState == btypes.FoundationModelLifecycleStatusLegacy && lc.EndOfLifeTime == nil) {
					t.Fatalf("lifecycle %+v, want %s", lc, tc.wantState)
				}
			}
		})
	}
}

func TestBedrockRuntime(t *testing.T) {
	e := start(t, testSeed())
	c := e.runtime()
	ping := []rtypes.Message{{Role: rtypes.ConversationRoleUser, Content: []rtypes.ContentBlock{&rtypes.ContentBlockMemberText{Value: "ping"}}}}
	out, err := c.Converse(ctx(t), &bedrockruntime.ConverseInput{
		ModelId: aws.String(haiku), Messages: ping, InferenceConfig: &rtypes.InferenceConfiguration{MaxTokens: aws.Int32(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := out.Output.(*rtypes.ConverseOutputMemberMessage)
	if !ok || out.StopReason != rtypes.StopReasonMaxTokens || aws.ToInt32(out.Usage.OutputTokens) != 1 || len(msg.Value.Content) != 1 {
		t.Fatalf("converse %+v", out)
	}
	// Cross-region inference profile ids resolve to the seeded model.
	if _, err := c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String("us." + haiku), Messages: ping}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String("anthropic.unknown"), Messages: ping})
	wantAPIErr(t, err, "ValidationException", 400)
	_, err = c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: []rtypes.Message{{Role: rtypes.ConversationRoleAssistant, Content: ping[0].Content}}})
	wantAPIErr(t, err, "ValidationException", 400)

	inv, err := c.InvokeModel(ctx(t), &bedrockruntime.InvokeModelInput{ModelId: aws.String(titan), ContentType: aws.String("application/json"),
		Body: []byte(`{"inputText":"ping","dimensions":256}`)})
	if err != nil {
		t.Fatal(err)
	}
	var emb struct {
		Embedding           []float64
		InputTextTokenCount int
	}
	if err := json.Unmarshal(inv.Body, &emb); err != nil || len(emb.Embedding) != 256 || emb.InputTextTokenCount != 1 {
		t.Fatalf("embedding %s %v", inv.Body, err)
	}
	_, err = c.InvokeModel(ctx(t), &bedrockruntime.InvokeModelInput{ModelId: aws.String(titan), Body: []byte(`{"text":"x"}`)})
	wantAPIErr(t, err, "ValidationException", 400)
	claude, err := c.InvokeModel(ctx(t), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku),
		Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	var msgOut struct {
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(claude.Body, &msgOut); err != nil || msgOut.StopReason != "max_tokens" {
		t.Fatalf("claude %s %v", claude.Body, err)
	}

	// Faults named for bedrock-runtime hit runtime calls, with runtime codes.
	for _, f := range []struct {
		code   string
		status int
	}{{"ModelNotReadyException", 429}, {"ModelTimeoutException", 408}, {"ModelErrorException", 424}} {
		e.sim.AddFault(Fault{Service: "bedrock-runtime", Resource: haiku, Error: f.code, Count: 1})
		_, err = c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: ping})
		wantAPIErr(t, err, f.code, f.status)
	}
	e.sim.AddFault(Fault{Service: "bedrock-runtime", Malformed: true, Count: 1})
	_, err = c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: ping})
	wantDeserializationErr(t, err)
}

// Each embedding family takes its own native request and answers in its
// own shape; Converse is refused for all of them, as on Bedrock.
func TestBedrockEmbeddingFamilies(t *testing.T) {
	const titanV1, cohere = "amazon.titan-embed-text-v1", "cohere.embed-english-v3"
	seed := testSeed()
	seed.Models = append(seed.Models, titanV1, cohere)
	c := start(t, seed).runtime()
	invoke := func(model, body string) ([]byte, error) {
		out, err := c.InvokeModel(ctx(t), &bedrockruntime.InvokeModelInput{ModelId: aws.String(model),
			ContentType: aws.String("application/json"), Accept: aws.String("application/json"), Body: []byte(body)})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}

	for _, model := range []string{titan, titanV1, cohere} {
		_, err := c.Converse(ctx(t), &bedrockruntime.ConverseInput{ModelId: aws.String(model),
			Messages: []rtypes.Message{{Role: rtypes.ConversationRoleUser, Content: []rtypes.ContentBlock{&rtypes.ContentBlockMemberText{Value: "ping"}}}}})
		wantAPIErr(t, err, "ValidationException", 400)
	}

	body, err := invoke(titanV1, `{"inputText":"ping"}`)
	var t1 struct {
		Embedding           []float64
		InputTextTokenCount int
	}
	if err != nil || json.Unmarshal(body, &t1) != nil || len(t1.Embedding) != 1536 || t1.InputTextTokenCount != 1 {
		t.Fatalf("Titan v1: %s %v", body, err)
	}
	// v1 has no dimensions: Bedrock refuses a key the family does not know.
	_, err = invoke(titanV1, `{"inputText":"ping","dimensions":256}`)
	wantAPIErr(t, err, "ValidationException", 400)

	body, err = invoke("us."+cohere, `{"texts":["ping"],"input_type":"search_query"}`)
	var co struct {
		Embeddings   [][]float64
		ResponseType string `json:"response_type"`
		Texts        []string
	}
	if err != nil || json.Unmarshal(body, &co) != nil || len(co.Embeddings) != 1 || len(co.Embeddings[0]) != 1024 || co.ResponseType != "embeddings_floats" {
		t.Fatalf("Cohere: %s %v", body, err)
	}
	for _, bad := range []string{`{"texts":["ping"]}`, `{"inputText":"ping"}`, `{"texts":["ping"],"input_type":"poem"}`} {
		_, err = invoke(cohere, bad)
		wantAPIErr(t, err, "ValidationException", 400)
	}
}
