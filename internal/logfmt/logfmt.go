// Package logfmt turns zerolog's JSON lines into logfmt (key=value pairs),
// the log format of Prometheus, Alertmanager and the exporters, so an
// operator whose log pipeline parses their logs can parse socmond's too
// (--log.format=logfmt). zerolog has no logfmt writer of its own; this one
// re-encodes each event, which costs a decode per line and is meant for
// human-scale log volumes, not a hot path.
package logfmt

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Writer re-encodes each JSON object written to it as one logfmt line on
// Out. zerolog writes one event per Write call, which is what Writer
// expects; anything that is not a JSON object passes through unchanged, so
// nothing is lost when something else writes to the same stream.
type Writer struct {
	Out io.Writer
	// First are keys written first, in this order, when the event has
	// them; the others follow in the event's own order. Rename maps a
	// JSON key to its logfmt name.
	First  []string
	Rename map[string]string
}

// New is a Writer for zerolog's default field names: time, level and the
// message (as msg, the logfmt convention) lead each line.
func New(out io.Writer) *Writer {
	return &Writer{Out: out, First: []string{"time", "level", "message"}, Rename: map[string]string{"message": "msg"}}
}

// Write converts one event. It returns len(p) on success, whatever the
// length of the logfmt line, as io.Writer requires of a full write.
func (w *Writer) Write(p []byte) (int, error) {
	fields, ok := decode(p)
	if !ok {
		return w.Out.Write(p)
	}
	var b bytes.Buffer
	done := make([]bool, len(fields))
	for _, k := range w.First {
		for i, f := range fields {
			if !done[i] && f.key == k {
				w.pair(&b, f)
				done[i] = true
				break
			}
		}
	}
	for i, f := range fields {
		if !done[i] {
			w.pair(&b, f)
		}
	}
	b.WriteByte('\n')
	if _, err := w.Out.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *Writer) pair(b *bytes.Buffer, f field) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	k := f.key
	if r, ok := w.Rename[k]; ok {
		k = r
	}
	b.WriteString(key(k))
	b.WriteByte('=')
	b.WriteString(value(f.val))
}

type field struct {
	key string
	val string // a string's text, or the JSON of any other value
}

// decode reads one JSON object keeping its keys' order (a map would lose
// it, and the order zerolog wrote is the order the code chose).
func decode(p []byte) ([]field, bool) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var fields []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, ok := t.(string)
		if !ok {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		var s string
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, false
			}
		} else {
			var c bytes.Buffer
			if err := json.Compact(&c, raw); err != nil {
				return nil, false
			}
			s = c.String()
		}
		fields = append(fields, field{key: k, val: s})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	return fields, true
}

// key makes a JSON key a valid logfmt key: no space, '=', '"' or control
// characters, never empty.
func key(k string) string {
	if k == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '=' || r == '"' || r == utf8.RuneError || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, k)
}

// value quotes a value when logfmt needs it to: empty, or holding a space,
// '=', '"', a backslash or anything not printable.
func value(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r <= ' ' || r == '=' || r == '"' || r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}
