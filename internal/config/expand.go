package config

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Expansion works on the parsed node tree rather than the raw text: line
// numbers stay exact whatever a variable holds, "${...}" in comments is left
// alone, and a variable's value can never inject YAML structure. Only value
// scalars are expanded; keys are schema names.

// expandNodes expands every value scalar under n in place and returns one
// error per bad reference.
func expandNodes(file string, n *yaml.Node, getenv func(string) string) []error {
	var errs []error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			v, off, err := expand(n.Value, getenv, placeholderPath.MatchString(path))
			if err != nil {
				errs = append(errs, newError(file, scalarLine(n, off), path, err.Error()))
				return
			}
			if v == n.Value {
				return
			}
			n.Value = v
			// An untagged plain scalar's type comes from its text, so let
			// the library resolve it again: `enabled: ${X:-true}` is a bool.
			if n.Style&yaml.TaggedStyle == 0 {
				n.Tag = ""
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		}
		// Alias nodes are not followed: their anchor is expanded where it
		// is defined, and expanding twice would undo "$$" escapes.
	}
	walk(n, "")
	return errs
}

// scalarLine is the file line of byte offset off inside scalar n. Only
// literal blocks keep their newlines verbatim; other styles fold them, so
// the scalar's first line is the best answer there.
func scalarLine(n *yaml.Node, off int) int {
	if n.Style&yaml.LiteralStyle != 0 {
		return n.Line + 1 + strings.Count(n.Value[:off], "\n")
	}
	return n.Line
}

// placeholderPath matches the key paths of the names a pipeline has its
// own of: a resource's, the pipeline section's and the workflow's rules,
// where the per-pipeline placeholders are kept for Targets and PipelineAt
// to substitute.
var placeholderPath = regexp.MustCompile(`^(services\.[^.]+\.resources\[[0-9]+\]\.name|pipeline\.[a-z_]+|workflow\.rules\[[0-9]+\])$`)

// expand replaces ${VAR} and ${VAR:-default} in s, and "$$" with "$".
// A variable that is unset or empty without a default is an error, because
// getenv cannot tell the two apart. Any other "$" is kept literally, and so,
// with keepPlaceholders (a name of a pipeline's), are ${account_id}, ${region} and
// ${tenant}, substituted per pipeline (accounts.go). On error it also
// returns the byte offset of the bad reference.
func expand(s string, getenv func(string) string, keepPlaceholders bool) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", i, fmt.Errorf("unterminated variable reference %q", clip(s[i:]))
		}
		ref := s[i+2 : i+2+end]
		if keepPlaceholders && isPlaceholder(ref) {
			b.WriteString(s[i : i+2+end+1])
			i += 2 + end + 1
			continue
		}
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			return "", i, fmt.Errorf("invalid variable reference %q (use ${VAR} or ${VAR:-default})", "${"+ref+"}")
		}
		if hasDef && strings.Contains(def, "${") {
			return "", i, fmt.Errorf("nested variable reference in %q is not supported", "${"+ref+"}")
		}
		v := getenv(name)
		switch {
		case v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", i, fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a fallback)", name, name)
		}
		i += 2 + end + 1
	}
	return b.String(), 0, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// clip keeps error messages one short line.
func clip(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
