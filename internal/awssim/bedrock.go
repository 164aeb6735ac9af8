package awssim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// bedrockService is Bedrock and Bedrock Runtime (restJson1): foundation
// models.
var bedrockService = &service{
	name: "bedrock", aliases: []string{"bedrock-runtime"}, signing: "bedrock",
	route: (*Sim).routeBedrock,
	claims: func(r *http.Request) bool {
		p := r.URL.EscapedPath()
		return strings.HasPrefix(p, "/foundation-model") || strings.HasPrefix(p, "/model/")
	},
	// Bedrock has its own host on AWS: a path it does not know, signed for
	// it, is its own unknown operation rather than S3's.
	byScope:  true,
	throttle: "ThrottlingException",
	statuses: map[string]int{
		"ResourceNotFoundException":     404,
		"AccessDeniedException":         403,
		"UnrecognizedClientException":   403,
		"ThrottlingException":           429,
		"ModelNotReadyException":        429,
		"ServiceQuotaExceededException": 400,
		"ValidationException":           400,
		"ConflictException":             409,
		"ModelTimeoutException":         408,
		"ModelErrorException":           424,
		"ModelStreamErrorException":     424,
		"InternalServerException":       500,
		"ServiceUnavailableException":   503,
		"UnknownOperationException":     404,
	},
	protocol: restJSON(func(c *call, status int, e *apiError) {
		// Bedrock puts a Coral URL after the code; the SDK cuts it off.
		c.w.Header().Set("X-Amzn-Errortype", e.Code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
		c.writeRESTJSON(status, map[string]string{"message": e.Message})
	}),
	states: []string{"ACTIVE", "LEGACY"}, // a model's lifecycle status
	canonical: func(sc *scope, name string) string {
		if _, rest, ok := strings.Cut(name, "foundation-model/"); ok {
			return rest
		}
		return name
	},
	seed: func(sc *scope, seed *Seed, names []string) any {
		b := &bedrockState{}
		b.seed(slices.Concat(seed.Models, names))
		return b
	},
}

func (sc *scope) models() *bedrockState { return sc.state["bedrock"].(*bedrockState) }

// bedrockState holds the Bedrock foundation models. Runtime calls (Converse,
// InvokeModel) answer from the same models.
type bedrockState struct {
	models map[string]bool
	order  []string
}

func (b *bedrockState) seed(ids []string) {
	b.models = map[string]bool{}
	for _, id := range ids {
		if !b.models[id] {
			b.models[id] = true
			b.order = append(b.order, id)
		}
	}
}

// resolve accepts a model id or foundation-model ARN; runtime calls also
// accept cross-region inference profile ids ("us.anthropic...").
func (b *bedrockState) resolve(id string, runtime bool) string {
	if _, rest, ok := strings.Cut(id, ":foundation-model/"); ok && strings.HasPrefix(id, "arn:") {
		id = rest
	}
	if b.models[id] {
		return id
	}
	if runtime {
		for _, p := range []string{"us.", "eu.", "apac.", "global.", "us-gov."} {
			if base, ok := strings.CutPrefix(id, p); ok && b.models[base] {
				return base
			}
		}
	}
	return ""
}

func (s *Sim) routeBedrock(c *call) *apiError {
	parts := strings.Split(strings.TrimPrefix(c.r.URL.EscapedPath(), "/"), "/")
	id := ""
	if len(parts) > 1 {
		id, _ = url.PathUnescape(parts[1])
	}
	c.resource = id
	m := c.r.Method
	switch {
	case len(parts) == 1 && parts[0] == "foundation-models" && m == http.MethodGet:
		c.op, c.handler = "ListFoundationModels", bedrockListFoundationModels
	case len(parts) == 2 && parts[0] == "foundation-models" && m == http.MethodGet:
		c.op, c.handler = "GetFoundationModel", bedrockGetFoundationModel
	case len(parts) == 2 && parts[0] == "foundation-model-availability" && m == http.MethodGet:
		c.op, c.handler = "GetFoundationModelAvailability", bedrockGetAvailability
	case len(parts) == 3 && parts[0] == "model" && parts[2] == "converse" && m == http.MethodPost:
		c.op, c.handler = "Converse", bedrockConverse
	case len(parts) == 3 && parts[0] == "model" && parts[2] == "invoke" && m == http.MethodPost:
		c.op, c.handler = "InvokeModel", bedrockInvokeModel
	default:
		c.op = m + " " + c.r.URL.Path
		return errorf("UnknownOperationException", "Unknown operation %s", c.op)
	}
	return nil
}

func providerOf(id string) string {
	p, _, _ := strings.Cut(id, ".")
	switch p {
	case "anthropic":
		return "Anthropic"
	case "amazon":
		return "Amazon"
	case "meta":
		return "Meta"
	case "cohere":
		return "Cohere"
	case "mistral":
		return "Mistral AI"
	}
	return p
}

func isEmbedding(id string) bool { return strings.Contains(id, "embed") }

func (c *call) modelDetails(id string) map[string]any {
	out := []string{"TEXT"}
	if isEmbedding(id) {
		out = []string{"EMBEDDING"}
	}
	lifecycle := map[string]any{"status": "ACTIVE", "startOfLifeTime": "2024-03-07T00:00:00Z"}
	if c.state == "LEGACY" {
		// A legacy model has dates for the end of its life.
		lifecycle = map[string]any{
			"status":                   "LEGACY",
			"startOfLifeTime":          "2024-03-07T00:00:00Z",
			"legacyTime":               time.Now().AddDate(0, -1, 0).UTC().Format(time.RFC3339),
			"publicExtendedAccessTime": time.Now().AddDate(0, 2, 0).UTC().Format(time.RFC3339),
			"endOfLifeTime":            time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339),
		}
	}
	return map[string]any{
		"modelArn":                   "arn:aws:bedrock:" + c.sc.region + "::foundation-model/" + id,
		"modelId":                    id,
		"modelName":                  id,
		"providerName":               providerOf(id),
		"inputModalities":            []string{"TEXT"},
		"outputModalities":           out,
		"responseStreamingSupported": !isEmbedding(id),
		"customizationsSupported":    []string{},
		"inferenceTypesSupported":    []string{"ON_DEMAND"},
		"modelLifecycle":             lifecycle,
	}
}

func modelNotFound() *apiError {
	return errorf("ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.")
}

func bedrockGetFoundationModel(c *call) {
	id := c.sc.models().resolve(c.resource, false)
	if id == "" {
		c.writeError(modelNotFound())
		return
	}
	c.writeRESTJSON(http.StatusOK, map[string]any{"modelDetails": c.modelDetails(id)})
}

func bedrockListFoundationModels(c *call) {
	byProvider := c.r.URL.Query().Get("byProvider")
	summaries := []map[string]any{}
	for _, id := range c.sc.models().order {
		if byProvider != "" && !strings.EqualFold(byProvider, providerOf(id)) && !strings.HasPrefix(id, strings.ToLower(byProvider)+".") {
			continue
		}
		summaries = append(summaries, c.modelDetails(id))
	}
	c.writeRESTJSON(http.StatusOK, map[string]any{"modelSummaries": summaries})
}

func bedrockGetAvailability(c *call) {
	id := c.sc.models().resolve(c.resource, false)
	if id == "" {
		c.writeError(modelNotFound())
		return
	}
	c.writeRESTJSON(http.StatusOK, map[string]any{
		"modelId":                 id,
		"agreementAvailability":   map[string]string{"status": "AVAILABLE"},
		"authorizationStatus":     "AUTHORIZED",
		"entitlementAvailability": "AVAILABLE",
		"regionAvailability":      "AVAILABLE",
	})
}

// reply is what every simulated model says; output is cut to maxTokens words
// so a maxTokens=1 canary sees stopReason max_tokens as on real Bedrock.
var reply = []string{"pong", "from", "awssim"}

func countWords(s string) int { return max(1, len(strings.Fields(s))) }

func (c *call) runtimeModel() (string, *apiError) {
	id := c.sc.models().resolve(c.resource, true)
	if id == "" {
		return "", validation("The provided model identifier is invalid.")
	}
	return id, nil
}

func bedrockConverse(c *call) {
	id, e := c.runtimeModel()
	if e != nil {
		c.writeError(e)
		return
	}
	var in struct {
		Messages []struct {
			Role    string
			Content []struct{ Text *string }
		}
		InferenceConfig struct{ MaxTokens *int }
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		c.writeError(validation("Malformed input request: %v", err))
		return
	}
	if isEmbedding(id) {
		c.writeError(validation("This action doesn't support the model that you provided. Try again with a supported text or chat model."))
		return
	}
	if len(in.Messages) == 0 {
		c.writeError(validation("A conversation must start with a user message. Try again with a conversation that starts with a user message."))
		return
	}
	if in.Messages[0].Role != "user" {
		c.writeError(validation("A conversation must start with a user message. Try again with a conversation that starts with a user message."))
		return
	}
	inputTokens := 0
	for _, m := range in.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			c.writeError(validation("1 validation error detected: Value '%s' at 'messages.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role))
			return
		}
		for _, b := range m.Content {
			if b.Text != nil {
				inputTokens += countWords(*b.Text)
			}
		}
	}
	n := len(reply)
	stop := "end_turn"
	if mt := in.InferenceConfig.MaxTokens; mt != nil {
		if *mt < 1 {
			c.writeError(validation("1 validation error detected: Value '%d' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", *mt))
			return
		}
		if *mt < n {
			n, stop = *mt, "max_tokens"
		}
	}
	c.writeRESTJSON(http.StatusOK, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []map[string]string{{"text": strings.Join(reply[:n], " ")}}}},
		"stopReason": stop,
		"usage":      map[string]int{"inputTokens": inputTokens, "outputTokens": n, "totalTokens": inputTokens + n},
		"metrics":    map[string]int{"latencyMs": 42},
	})
}

// bedrockInvokeModel answers in the native body format of the model family.
func bedrockInvokeModel(c *call) {
	id, e := c.runtimeModel()
	if e != nil {
		c.writeError(e)
		return
	}
	var in map[string]any
	if err := json.Unmarshal(c.body, &in); err != nil {
		c.writeError(validation("Malformed input request, please reformat your input and try again."))
		return
	}
	var out map[string]any
	switch {
	case isEmbedding(id):
		if out, e = embed(id, in); e != nil {
			c.writeError(e)
			return
		}
	case strings.HasPrefix(id, "anthropic."):
		maxTokens, ok := in["max_tokens"].(float64)
		if _, hasVersion := in["anthropic_version"]; !ok || !hasVersion || in["messages"] == nil {
			c.writeError(validation("Malformed input request: #: required key [max_tokens, anthropic_version, messages] not found, please reformat your input and try again."))
			return
		}
		n, stop := len(reply), "end_turn"
		if int(maxTokens) < n {
			n, stop = max(int(maxTokens), 1), "max_tokens"
		}
		out = map[string]any{
			"id": "msg_" + strings.ReplaceAll(newUUID(), "-", ""), "type": "message", "role": "assistant", "model": id,
			"content":     []map[string]string{{"type": "text", "text": strings.Join(reply[:n], " ")}},
			"stop_reason": stop, "usage": map[string]int{"input_tokens": 8, "output_tokens": n},
		}
	default:
		out = map[string]any{"outputText": strings.Join(reply, " ")}
	}
	body, _ := json.Marshal(out)
	c.w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", "8")
	c.writeRaw(http.StatusOK, "application/json", body)
}

// embed answers an embedding model's native request in its family's shape,
// and refuses what that family refuses: each family has its own request
// keys and Bedrock rejects any other.
func embed(id string, in map[string]any) (map[string]any, *apiError) {
	if strings.HasPrefix(id, "cohere.") {
		return cohereEmbed(in)
	}
	return titanEmbed(id, in)
}

// embeddingKeys are the request keys each embedding family accepts.
var embeddingKeys = map[string][]string{
	"titan-v1":    {"inputText"},
	"titan-v2":    {"inputText", "dimensions", "normalize", "embeddingTypes"},
	"titan-image": {"inputText", "inputImage", "embeddingConfig"},
	"cohere":      {"texts", "images", "input_type", "truncate", "embedding_types", "output_dimension", "max_tokens"},
}

func extraneousKey(family string, in map[string]any) *apiError {
	for k := range in {
		if !slices.Contains(embeddingKeys[family], k) {
			return validation("Malformed input request: extraneous key [%s] is not permitted, please reformat your input and try again.", k)
		}
	}
	return nil
}

func titanEmbed(id string, in map[string]any) (map[string]any, *apiError) {
	family, dims := "titan-v1", 1536
	switch {
	case strings.Contains(id, "titan-embed-text-v2"):
		family, dims = "titan-v2", 1024
	case strings.Contains(id, "titan-embed-image"):
		family, dims = "titan-image", 1024
	}
	if e := extraneousKey(family, in); e != nil {
		return nil, e
	}
	text, _ := in["inputText"].(string)
	if text == "" && (family != "titan-image" || in["inputImage"] == nil) {
		return nil, validation("Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
	}
	if d, ok := in["dimensions"].(float64); ok {
		if d != 256 && d != 512 && d != 1024 {
			return nil, validation("Malformed input request: #/dimensions: %v is not a valid enum value, please reformat your input and try again.", d)
		}
		dims = int(d)
	}
	emb := vector(dims)
	out := map[string]any{"embedding": emb, "inputTextTokenCount": countWords(text)}
	if family == "titan-v2" {
		out["embeddingsByType"] = map[string]any{"float": emb}
	}
	return out, nil
}

func cohereEmbed(in map[string]any) (map[string]any, *apiError) {
	if e := extraneousKey("cohere", in); e != nil {
		return nil, e
	}
	texts, _ := in["texts"].([]any)
	inputType, _ := in["input_type"].(string)
	if len(texts) == 0 || inputType == "" {
		return nil, validation("Malformed input request: #: required key [texts, input_type] not found, please reformat your input and try again.")
	}
	if !slices.Contains([]string{"search_document", "search_query", "classification", "clustering"}, inputType) {
		return nil, validation("Malformed input request: #/input_type: %s is not a valid enum value, please reformat your input and try again.", inputType)
	}
	embs := make([][]float64, len(texts))
	for i := range embs {
		embs[i] = vector(1024)
	}
	return map[string]any{"embeddings": embs, "id": newUUID(), "response_type": "embeddings_floats", "texts": texts}, nil
}

// vector is a stand-in embedding of n dimensions.
func vector(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 0.01
	}
	return v
}
