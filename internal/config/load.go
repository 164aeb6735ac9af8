package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path: environment expansion, strict
// decoding, defaults, validation. Errors name path, line and key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.Getenv)
}

// Parse is Load without the file system: filename is only used in errors
// and getenv supplies the environment (nil means an empty environment).
func Parse(filename string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	root, err := parseDocument(filename, data)
	if err != nil {
		return nil, err
	}
	if errs := expandNodes(filename, root, getenv); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	var c Config
	d := &decoder{file: filename, lines: map[string]int{"": root.Line}}
	d.decode(root, reflect.ValueOf(&c).Elem(), "")
	if len(d.errs) > 0 {
		return nil, joinErrors(d.errs)
	}
	l := &locator{file: filename, lines: d.lines, vars: map[string]string{}}
	if c.Region == "" {
		// The region will come from the environment; blame the variable.
		for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if getenv(name) != "" {
				l.vars["region"] = name
				break
			}
		}
	}
	c.applyDefaults(getenv)
	if errs := validate(&c, l); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return &c, nil
}

// parseDocument returns the root node of the only document in data.
func parseDocument(filename string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, newError(filename, 1, "", "configuration is empty")
		}
		return nil, syntaxError(filename, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, newError(filename, extra.Line, "", "only one YAML document is allowed")
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(filename, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, newError(filename, 1, "", "configuration is empty")
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, newError(filename, root.Line, "", "configuration is empty")
	}
	return root, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError rewrites the library's "yaml: line N: msg" into the
// file:line: form used by every other config error.
func syntaxError(filename string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return newError(filename, line, "", "invalid YAML: "+m[2])
	}
	return newError(filename, 0, "", "invalid YAML: "+msg)
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
