// Package workflow checks the SOC pipeline as a whole rather than service by
// service: the passive check (EventBridge rules enabled and targeting the
// state machine, a STANDARD state machine, the Lambda functions its
// definition invokes, recent executions) and the opt-in synthetic canary,
// which sends a test alert through EventBridge → Step Functions → Lambda and
// verifies what comes out in DynamoDB and S3.
//
// Both talk to AWS through narrow, SDK-shaped interfaces (api.go) so tests
// can use the simulator or fakes. The ASL parser here is pure.
package workflow

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Invocation styles of a Lambda function in a state machine definition.
const (
	StyleIntegration = "integration" // Resource arn:aws:states:::lambda:invoke, Parameters.FunctionName
	StyleDirect      = "direct"      // Resource is the function's ARN (legacy)
)

// LambdaRef is one Lambda function a definition invokes.
type LambdaRef struct {
	State    string // the Task state's name, e.g. "Analyze"
	Path     string // where the state sits, e.g. "Fanout/branch[1]/Analyze"
	Function string // name or ARN as written; empty when Dynamic
	Style    string // StyleIntegration or StyleDirect
	// Dynamic is set for "FunctionName.$": the function is chosen from the
	// input at run time and cannot be discovered statically.
	Dynamic bool
}

// Name returns the function name without ARN prefix and qualifier.
func (r LambdaRef) Name() string { return FunctionName(r.Function) }

// FunctionName reduces a function name, partial ARN or ARN (with an optional
// version or alias) to the bare name.
func FunctionName(s string) string {
	if _, rest, ok := strings.Cut(s, ":function:"); ok {
		s = rest
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

// ParseASL returns the Lambda functions a state machine definition invokes,
// walking Parallel branches and Map ItemProcessor/Iterator definitions at any
// depth, in a stable order (by path). A definition with no Lambda task gives
// an empty list and no error.
func ParseASL(definition string) ([]LambdaRef, error) {
	var root machine
	if err := json.Unmarshal([]byte(definition), &root); err != nil {
		return nil, fmt.Errorf("state machine definition is not valid JSON: %w", err)
	}
	if root.States == nil {
		return nil, fmt.Errorf("state machine definition has no States")
	}
	var out []LambdaRef
	walk(&root, "", &out, 0)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// maxDepth bounds nesting so a hostile definition cannot exhaust the stack.
const maxDepth = 64

type machine struct {
	States map[string]state `json:"States"`
}

type state struct {
	Type          string         `json:"Type"`
	Resource      string         `json:"Resource"`
	Parameters    map[string]any `json:"Parameters"`
	Arguments     map[string]any `json:"Arguments"` // JSONata definitions use Arguments
	Branches      []machine      `json:"Branches"`
	ItemProcessor *machine       `json:"ItemProcessor"`
	Iterator      *machine       `json:"Iterator"`
}

func walk(m *machine, prefix string, out *[]LambdaRef, depth int) {
	if depth > maxDepth {
		return
	}
	for name, st := range m.States {
		path := prefix + name
		switch st.Type {
		case "Task":
			if ref, ok := lambdaTask(st); ok {
				ref.State, ref.Path = name, path
				*out = append(*out, ref)
			}
		case "Parallel":
			for i := range st.Branches {
				walk(&st.Branches[i], fmt.Sprintf("%s/branch[%d]/", path, i), out, depth+1)
			}
		case "Map":
			if st.ItemProcessor != nil {
				walk(st.ItemProcessor, path+"/item/", out, depth+1)
			} else if st.Iterator != nil {
				walk(st.Iterator, path+"/item/", out, depth+1)
			}
		}
	}
}

// lambdaTask recognises the two ways a Task invokes Lambda.
func lambdaTask(st state) (LambdaRef, bool) {
	r := st.Resource
	switch {
	case r == "arn:aws:states:::lambda:invoke" || strings.HasPrefix(r, "arn:aws:states:::lambda:invoke."):
		// .waitForTaskToken is still a Lambda invocation.
		params := st.Parameters
		if params == nil {
			params = st.Arguments
		}
		if fn, ok := params["FunctionName"].(string); ok && fn != "" {
			return LambdaRef{Function: fn, Style: StyleIntegration}, true
		}
		return LambdaRef{Style: StyleIntegration, Dynamic: true}, true
	case strings.HasPrefix(r, "arn:aws:lambda:") || (strings.HasPrefix(r, "arn:aws") && strings.Contains(r, ":lambda:") && strings.Contains(r, ":function:")):
		return LambdaRef{Function: r, Style: StyleDirect}, true
	}
	return LambdaRef{}, false
}

// Functions returns the distinct statically known function names, in order.
func Functions(refs []LambdaRef) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range refs {
		if r.Dynamic || seen[r.Name()] {
			continue
		}
		seen[r.Name()] = true
		out = append(out, r.Name())
	}
	return out
}
