package config

import (
	"strings"
	"testing"
)

// envMap is a getenv backed by a map, so tests never read the real
// environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"REGION": "eu-west-1", "NAME": "tbl", "EMPTY": ""})
	tests := map[string]struct {
		in, want, wantErr string
	}{
		"no references":             {in: "plain text", want: "plain text"},
		"set variable":              {in: "${REGION}", want: "eu-west-1"},
		"variable inside text":      {in: "prefix-${NAME}-suffix", want: "prefix-tbl-suffix"},
		"two variables":             {in: "${NAME}/${REGION}", want: "tbl/eu-west-1"},
		"default when unset":        {in: "${MISSING:-us-east-1}", want: "us-east-1"},
		"default when empty":        {in: "${EMPTY:-fallback}", want: "fallback"},
		"default ignored when set":  {in: "${REGION:-us-east-1}", want: "eu-west-1"},
		"empty default":             {in: "a${MISSING:-}b", want: "ab"},
		"default with colon":        {in: "${MISSING:-arn:aws:kms:x}", want: "arn:aws:kms:x"},
		"escaped dollar":            {in: "cost $$5", want: "cost $5"},
		"escaped reference":         {in: "$${REGION}", want: "${REGION}"},
		"escape then reference":     {in: "$$${NAME}", want: "$tbl"},
		"lone dollar kept":          {in: "a $ b", want: "a $ b"},
		"trailing dollar kept":      {in: "price$", want: "price$"},
		"dollar name without brace": {in: "$REGION", want: "$REGION"},
		"unset variable": {in: "${MISSING}",
			wantErr: "environment variable MISSING is not set (use ${MISSING:-default} for a fallback)"},
		"empty variable without default": {in: "${EMPTY}",
			wantErr: "environment variable EMPTY is not set (use ${EMPTY:-default} for a fallback)"},
		"unterminated":   {in: "x ${REGION", wantErr: `unterminated variable reference "${REGION"`},
		"empty name":     {in: "${}", wantErr: `invalid variable reference "${}" (use ${VAR} or ${VAR:-default})`},
		"name has digit": {in: "${1A}", wantErr: `invalid variable reference "${1A}" (use ${VAR} or ${VAR:-default})`},
		"other operator": {in: "${A:=b}", wantErr: `invalid variable reference "${A:=b}" (use ${VAR} or ${VAR:-default})`},
		"nested default": {in: "${A:-${B}}", wantErr: `nested variable reference in "${A:-${B}" is not supported`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, err := expand(tc.in, env, false)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("expand(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("expand(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestExpandInFile checks expansion where it meets YAML: line numbers,
// comments, typing of the expanded value, and that a value cannot inject
// structure.
func TestExpandInFile(t *testing.T) {
	const resources = "services:\n  kms:\n    resources:\n      - name: alias/k\n"
	tests := map[string]struct {
		yaml    string
		env     map[string]string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		"unset variable names file, line and key": {
			yaml:    "# header\n\ntenant: ${TENANT}\n" + resources,
			wantErr: "config.yaml:3: tenant: environment variable TENANT is not set (use ${TENANT:-default} for a fallback)",
		},
		"unset variable in a list item": {
			yaml:    "services:\n  lambda:\n    resources:\n      - name: fn-a\n      - name: ${FN_B}\n",
			wantErr: "config.yaml:5: services.lambda.resources[1].name: environment variable FN_B is not set (use ${FN_B:-default} for a fallback)",
		},
		"line inside a literal block": {
			yaml:    "tenant: |\n  first\n  ${NOPE}\n" + resources,
			wantErr: "config.yaml:3: tenant: environment variable NOPE is not set (use ${NOPE:-default} for a fallback)",
		},
		"comments are not expanded": {
			yaml:  "# set ${UNSET_IN_COMMENT} if you like\ntenant: t1 # ${ALSO_UNSET}\n" + resources,
			check: func(t *testing.T, c *Config) { wantEqual(t, "tenant", c.Tenant, "t1") },
		},
		"expanded plain scalar is typed again": {
			yaml: "services:\n  kms:\n    enabled: ${KMS_ON:-false}\n    resources:\n      - name: alias/k\n  s3:\n    resources:\n      - name: b\n",
			check: func(t *testing.T, c *Config) {
				wantEqual(t, "kms enabled", c.Services.Get("kms").IsEnabled(), false)
			},
		},
		"expanded duration": {
			yaml:  "defaults:\n  timeout: ${T}\n" + resources,
			env:   map[string]string{"T": "3s"},
			check: func(t *testing.T, c *Config) { wantEqual(t, "timeout", c.Targets()[0].Timeout.String(), "3s") },
		},
		"value cannot inject YAML": {
			yaml: "tenant: ${T}\n" + resources,
			env:  map[string]string{"T": "x\nregion: not-a-region"},
			check: func(t *testing.T, c *Config) {
				wantEqual(t, "tenant", c.Tenant, "x\nregion: not-a-region")
				wantEqual(t, "region", c.Region, "us-east-1")
			},
		},
		"escaped dollar survives": {
			yaml:  "tenant: \"a$$b\"\n" + resources,
			check: func(t *testing.T, c *Config) { wantEqual(t, "tenant", c.Tenant, "a$b") },
		},
		"bad region from the environment names the variable": {
			yaml:    resources,
			env:     map[string]string{"AWS_DEFAULT_REGION": "hk"},
			wantErr: `config.yaml: AWS_DEFAULT_REGION: region: invalid region "hk" (expected a name such as us-east-1)`,
		},
		"keys are not expanded": {
			yaml:    "${KEY}: x\n" + resources,
			env:     map[string]string{"KEY": "tenant"},
			wantErr: `config.yaml:1: unknown key "${KEY}" in top level`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("config.yaml", []byte(tc.yaml), envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func wantEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The unset-variable message must stay on one line even for a long value.
func TestExpandErrorIsOneLine(t *testing.T) {
	_, err := Parse("c.yaml", []byte("tenant: \"${A\n  bbb\"\n"), nil)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error = %q, want one line", err)
	}
}
