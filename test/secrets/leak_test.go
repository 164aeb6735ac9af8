package secrets

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The fake secrets. Each is distinctive, so finding it anywhere is a leak.
const (
	accessKey    = "AKIAHYGIENETEST7Q2X"
	secretKey    = "hygieneSecretKey/7f3Q+wK9zLmN0pRsTuVxYz12"
	sessionToken = "HygieneSessionToken0aB1cD2eF3gH4iJ5kL6mN7oP8qR9"
	amUser       = "socmond"
	amPassword   = "hygiene-am-password-5d8e"
	amToken      = "hygiene-am-bearer-token-3b1c"
	webUser      = "prometheus"
	webPassword  = "hygiene-web-password-9a4f"
)

// needles are every form in which a secret could leak: plain, base64 (as in
// a basic-auth header) and the user:password pairs encoded as Authorization
// headers carry them.
func needles() map[string]string {
	n := map[string]string{}
	for name, s := range map[string]string{
		"AWS access key": accessKey, "AWS secret key": secretKey, "AWS session token": sessionToken,
		"Alertmanager password": amPassword, "Alertmanager bearer token": amToken, "web password": webPassword,
	} {
		n[name] = s
		n[name+" (base64)"] = base64.StdEncoding.EncodeToString([]byte(s))
		n[name+" (base64url)"] = base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	n["Alertmanager basic-auth header"] = basicAuth(amUser, amPassword)
	n["web basic-auth header"] = basicAuth(webUser, webPassword)
	return n
}

func basicAuth(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
}

// leaks lists the secrets text holds, with a little context each.
func leaks(text string) []string {
	var out []string
	for name, s := range needles() {
		if i := strings.Index(text, s); i >= 0 {
			out = append(out, fmt.Sprintf("the %s: …%s…", name, text[max(0, i-60):min(len(text), i+len(s)+20)]))
		}
	}
	sort.Strings(out)
	return out
}

// checked counts the bytes assertClean looked at, for the test's summary.
var checked struct {
	mu           sync.Mutex
	texts, bytes int
}

// assertClean fails the test if text, named what, holds any secret.
func assertClean(t *testing.T, what, text string) {
	t.Helper()
	if strings.TrimSpace(text) == "" {
		t.Errorf("%s is empty: nothing was checked", what)
		return
	}
	checked.mu.Lock()
	checked.texts++
	checked.bytes += len(text)
	checked.mu.Unlock()
	for _, l := range leaks(text) {
		t.Errorf("%s leaks %s", what, l)
	}
}

// TestLeaksFindsEveryForm: the scanner itself finds each secret in each
// form it could leak in, so a clean result means something.
func TestLeaksFindsEveryForm(t *testing.T) {
	for _, text := range []string{
		"aws_secret_access_key=" + secretKey,
		`{"token":"` + sessionToken + `"}`,
		"Authorization: Basic " + basicAuth(amUser, amPassword),
		"Authorization: Basic " + basicAuth(webUser, webPassword),
		"Authorization: Bearer " + amToken,
		"dump " + base64.StdEncoding.EncodeToString([]byte(webPassword)),
		"Credential=" + accessKey + "/20260101/us-east-1/s3/aws4_request",
	} {
		if len(leaks(text)) == 0 {
			t.Errorf("no leak found in %q", text)
		}
	}
	if l := leaks("password: <secret>\nuser: socmond"); len(l) != 0 {
		t.Errorf("false positive: %v", l)
	}
}

// amRecorder is a stand-in Alertmanager that keeps every request, so the
// test can check what socmond sent it and how.
type amRecorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	auth    string // the Authorization header
	headers string // every other header, as text
	url     string
	body    string
}

func (a *amRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var h strings.Builder
	for k, vs := range r.Header {
		if k == "Authorization" {
			continue
		}
		h.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, recorded{auth: r.Header.Get("Authorization"), headers: h.String(), url: r.URL.String(), body: string(body)})
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (a *amRecorder) requests() []recorded {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]recorded(nil), a.reqs...)
}

// checkAlertmanager: every request carried exactly wantAuth, and nothing
// else in it (URL, other headers, body) holds a secret.
func checkAlertmanager(t *testing.T, name string, am *amRecorder, wantAuth string) {
	t.Helper()
	reqs := am.requests()
	if len(reqs) == 0 {
		t.Errorf("%s got no notification: its credentials were never used", name)
		return
	}
	for i, r := range reqs {
		if r.auth != wantAuth {
			t.Errorf("%s request %d: Authorization %q, want its own credentials", name, i, r.auth)
		}
		assertClean(t, name+" request URL", r.url)
		assertClean(t, name+" request headers", r.headers)
		assertClean(t, name+" request body", r.body)
	}
}
