package logfmt_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/logfmt"
)

func TestWriter(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"time, level and msg lead, the rest in event order": {
			in:   `{"level":"info","version":"v1","checks":20,"time":"2026-12-03T13:05:53Z","message":"socmond started"}` + "\n",
			want: `time=2026-12-03T13:05:53Z level=info msg="socmond started" version=v1 checks=20` + "\n",
		},
		"quoted when needed": {
			in:   `{"level":"warn","error":"dial tcp: \"x\" refused","empty":"","eq":"a=b","tab":"a\tb","back":"a\\b"}`,
			want: `level=warn error="dial tcp: \"x\" refused" empty="" eq="a=b" tab="a\tb" back="a\\b"` + "\n",
		},
		"numbers, bools and null as written": {
			in:   `{"ratio":0.05,"big":12345678901234567890,"ok":true,"none":null}`,
			want: `ratio=0.05 big=12345678901234567890 ok=true none=null` + "\n",
		},
		"arrays and objects as compact JSON": {
			in:   `{"addresses":["127.0.0.1:9815", ":9816"],"labels":{"a": "b"}}`,
			want: `addresses="[\"127.0.0.1:9815\",\":9816\"]" labels="{\"a\":\"b\"}"` + "\n",
		},
		"keys made valid": {
			in:   `{"a key":"v","k=v":"w","":"x"}`,
			want: `a_key=v k_v=w _=x` + "\n",
		},
		"not JSON passes through": {
			in:   "SDK 2026/12/03 WARN something\n",
			want: "SDK 2026/12/03 WARN something\n",
		},
		"a JSON array passes through": {
			in:   "[1,2]\n",
			want: "[1,2]\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := logfmt.New(&out).Write([]byte(tc.in))
			if err != nil || n != len(tc.in) {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(tc.in))
			}
			if out.String() != tc.want {
				t.Errorf("got  %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}

// TestWriterUnderZerolog: what socmond's logger writes comes out as one
// logfmt line per event, durations with their unit.
func TestWriterUnderZerolog(t *testing.T) {
	var out bytes.Buffer
	log := zerolog.New(logfmt.New(&out))
	log.Info().Str("grace_period", (15 * time.Second).String()).Err(errors.New("boom")).Msg("stopping")
	log.Warn().Strs("addresses", []string{"a", "b"}).Msg("two")
	want := "level=info msg=stopping grace_period=15s error=boom\nlevel=warn msg=two addresses=\"[\\\"a\\\",\\\"b\\\"]\"\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriterReportsWriteErrors(t *testing.T) {
	if _, err := logfmt.New(failing{}).Write([]byte(`{"a":1}`)); err == nil {
		t.Fatal("a failed write was not reported")
	}
}
