package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode"
)

// EMF is one CloudWatch Embedded Metric Format log event that ParseEMF
// found valid.
type EMF struct {
	Timestamp  time.Time
	Directives []EMFDirective
	Root       map[string]any // every root member, numbers as json.Number
}

// EMFDirective is one MetricDirective.
type EMFDirective struct {
	Namespace  string
	Dimensions [][]string
	Metrics    []EMFMetric
}

// EMFMetric is one MetricDefinition.
type EMFMetric struct {
	Name              string
	Unit              string
	StorageResolution int
}

// EMFUnits are the units a MetricDefinition may name (the CloudWatch
// StandardUnit values).
var EMFUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
	"Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// ParseEMF checks one log event against the EMF specification
// (CloudWatch_Embedded_Metric_Format_Specification) as CloudWatch Logs
// applies it, written from the specification and not from socmond's
// emitter so the two cannot share a mistake: the event is one JSON object
// and nothing else; its `_aws` member holds only `Timestamp` (milliseconds
// since the epoch, within the two weeks back and two hours ahead CloudWatch
// accepts) and `CloudWatchMetrics`, a non-empty array of directives; a
// directive holds only `Namespace` (1–255 characters, not `AWS/…`),
// `Dimensions` (dimension sets of at most 30 names each) and `Metrics` (at
// most 100 definitions of `Name`, an optional `Unit` from EMFUnits and an
// optional `StorageResolution` of 1 or 60); every dimension name is a root
// member holding a non-empty ASCII string of at most 1024 characters, and
// every metric name a root member holding a number or an array of at most
// 100 numbers; no member is both.
func ParseEMF(line []byte) (EMF, error) {
	var doc EMF
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc.Root); err != nil {
		return doc, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doc, errors.New("data after the JSON object")
	}
	awsObj, ok := doc.Root["_aws"].(map[string]any)
	if !ok {
		return doc, errors.New("no _aws object at the root")
	}
	if err := onlyMembers(awsObj, "_aws", "Timestamp", "CloudWatchMetrics"); err != nil {
		return doc, err
	}
	ts, ok := awsObj["Timestamp"].(json.Number)
	if !ok {
		return doc, errors.New("_aws.Timestamp is missing or not a number")
	}
	ms, err := ts.Int64()
	if err != nil {
		return doc, fmt.Errorf("_aws.Timestamp %s is not whole milliseconds", ts)
	}
	doc.Timestamp = time.UnixMilli(ms)
	if age := time.Since(doc.Timestamp); age > 14*24*time.Hour || age < -2*time.Hour {
		return doc, fmt.Errorf("_aws.Timestamp %s is outside what CloudWatch accepts (two weeks back, two hours ahead)", doc.Timestamp)
	}
	list, ok := awsObj["CloudWatchMetrics"].([]any)
	if !ok || len(list) == 0 {
		return doc, errors.New("_aws.CloudWatchMetrics is missing, not an array, or empty")
	}
	roles := map[string]string{} // root member → "dimension" or "metric"
	for i, v := range list {
		d, err := parseDirective(v, doc.Root, roles)
		if err != nil {
			return doc, fmt.Errorf("_aws.CloudWatchMetrics[%d]: %w", i, err)
		}
		doc.Directives = append(doc.Directives, d)
	}
	return doc, nil
}

func parseDirective(v any, root map[string]any, roles map[string]string) (EMFDirective, error) {
	var d EMFDirective
	obj, ok := v.(map[string]any)
	if !ok {
		return d, errors.New("not an object")
	}
	if err := onlyMembers(obj, "directive", "Namespace", "Dimensions", "Metrics"); err != nil {
		return d, err
	}
	d.Namespace, ok = obj["Namespace"].(string)
	if !ok || len(d.Namespace) < 1 || len(d.Namespace) > 255 || len(d.Namespace) >= 4 && d.Namespace[:4] == "AWS/" {
		return d, fmt.Errorf("Namespace %v: want a string of 1–255 characters outside AWS/", obj["Namespace"])
	}
	sets, ok := obj["Dimensions"].([]any)
	if !ok {
		return d, errors.New("Dimensions is missing or not an array")
	}
	for i, s := range sets {
		names, ok := s.([]any)
		if !ok {
			return d, fmt.Errorf("Dimensions[%d] is not an array", i)
		}
		if len(names) > 30 {
			return d, fmt.Errorf("Dimensions[%d] has %d dimensions, more than 30", i, len(names))
		}
		var set []string
		for _, n := range names {
			name, ok := n.(string)
			if !ok {
				return d, fmt.Errorf("Dimensions[%d]: %v is not a string", i, n)
			}
			val, ok := root[name].(string)
			if !ok {
				return d, fmt.Errorf("dimension %q has no string root member", name)
			}
			if len(val) == 0 || len(val) > 1024 || !isASCII(val) || !hasNonSpace(val) {
				return d, fmt.Errorf("dimension %q value %q: want 1–1024 ASCII characters, not all blank", name, val)
			}
			if err := role(roles, name, "dimension"); err != nil {
				return d, err
			}
			set = append(set, name)
		}
		d.Dimensions = append(d.Dimensions, set)
	}
	defs, ok := obj["Metrics"].([]any)
	if !ok {
		return d, errors.New("Metrics is missing or not an array")
	}
	if len(defs) > 100 {
		return d, fmt.Errorf("%d metrics, more than 100", len(defs))
	}
	for i, m := range defs {
		def, ok := m.(map[string]any)
		if !ok {
			return d, fmt.Errorf("Metrics[%d] is not an object", i)
		}
		if err := onlyMembers(def, "metric definition", "Name", "Unit", "StorageResolution"); err != nil {
			return d, err
		}
		var md EMFMetric
		md.Name, ok = def["Name"].(string)
		if !ok || md.Name == "" || len(md.Name) > 1024 {
			return d, fmt.Errorf("Metrics[%d].Name %v: want a string of 1–1024 characters", i, def["Name"])
		}
		if u, present := def["Unit"]; present {
			md.Unit, ok = u.(string)
			if !ok || !slices.Contains(EMFUnits, md.Unit) {
				return d, fmt.Errorf("metric %q: unit %v is not a CloudWatch unit", md.Name, u)
			}
		}
		if sr, present := def["StorageResolution"]; present {
			n, ok := sr.(json.Number)
			if !ok || (n.String() != "1" && n.String() != "60") {
				return d, fmt.Errorf("metric %q: StorageResolution %v is not 1 or 60", md.Name, sr)
			}
			md.StorageResolution, _ = strconv.Atoi(n.String())
		}
		if err := metricValue(root[md.Name]); err != nil {
			return d, fmt.Errorf("metric %q: %w", md.Name, err)
		}
		if err := role(roles, md.Name, "metric"); err != nil {
			return d, err
		}
		d.Metrics = append(d.Metrics, md)
	}
	return d, nil
}

// Value is the number a metric or other numeric root member holds.
func (e EMF) Value(name string) (float64, bool) {
	n, ok := e.Root[name].(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// String is a string root member (a dimension's value, for one).
func (e EMF) String(name string) string {
	s, _ := e.Root[name].(string)
	return s
}

func metricValue(v any) error {
	switch v := v.(type) {
	case json.Number:
		return nil
	case []any:
		if len(v) > 100 {
			return fmt.Errorf("%d values, more than 100", len(v))
		}
		for _, x := range v {
			if _, ok := x.(json.Number); !ok {
				return fmt.Errorf("value %v is not a number", x)
			}
		}
		return nil
	case nil:
		return errors.New("no root member holds its value")
	}
	return fmt.Errorf("value %v is not a number", v)
}

func role(roles map[string]string, name, r string) error {
	if prev, ok := roles[name]; ok && prev != r {
		return fmt.Errorf("%q is both a %s and a %s", name, prev, r)
	}
	roles[name] = r
	return nil
}

func onlyMembers(obj map[string]any, what string, allowed ...string) error {
	for k := range obj {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s has member %q, which the specification does not define", what, k)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}

func hasNonSpace(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return true
		}
	}
	return false
}
