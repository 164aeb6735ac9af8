package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testCA issues certificates for a test: a CA, a server certificate for
// 127.0.0.1 and a client certificate, all written as PEM files into dir.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	dir  string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "socmond test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pool: x509.NewCertPool(), dir: t.TempDir()}
	ca.pool.AddCert(cert)
	writePEM(t, filepath.Join(ca.dir, "ca.crt"), "CERTIFICATE", der)
	return ca
}

// issue writes name.crt and name.key and returns the pair.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(ca.dir, name+".crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(ca.dir, name+".key"), "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(filepath.Join(ca.dir, name+".crt"), filepath.Join(ca.dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// basicAuth adds credentials to every request of a client.
type basicAuth struct {
	user, pass string
	next       http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(r)
}

// TestWebConfigTLSAndBasicAuth serves the daemon with a --web.config.file
// (TLS and a bcrypt basic-auth user): every endpoint, / and /metrics
// included, answers 401 without credentials or with wrong ones, 200 with
// them, and nothing is served in plain HTTP.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	startSim(t)
	ca := newTestCA(t)
	ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(ca.dir, "web.yml")
	writeFile(t, webCfg, fmt.Sprintf("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  oncall: %s\n", hash))
	addr, _ := startDaemon(t, fastConfig(t), "--web.config.file", webCfg)
	base := "https://" + addr

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}
	t.Cleanup(tr.CloseIdleConnections)
	anon := &http.Client{Transport: tr}
	authed := &http.Client{Transport: basicAuth{"oncall", "correct horse", tr}}
	wrong := &http.Client{Transport: basicAuth{"oncall", "wrong", tr}}
	waitReady(t, authed, base)

	for _, path := range []string{"/", "/metrics", "/api/v1/status", "/-/ready"} {
		for _, c := range []struct {
			name   string
			client *http.Client
			want   int
		}{{"no credentials", anon, 401}, {"wrong password", wrong, 401}, {"credentials", authed, 200}} {
			resp, err := c.client.Get(base + path)
			if err != nil {
				t.Fatalf("GET %s with %s: %v", path, c.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("GET %s with %s = %d, want %d", path, c.name, resp.StatusCode, c.want)
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with %s: 401 without WWW-Authenticate", path, c.name)
			}
		}
	}
	// Plain HTTP on the TLS port gets no page.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the TLS port")
		}
	}
}

// TestWebConfigClientCertificates requires a client certificate signed by
// the configured CA: a TLS client without one is refused at the handshake.
func TestWebConfigClientCertificates(t *testing.T) {
	startSim(t)
	ca := newTestCA(t)
	ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	client := ca.issue(t, "client", x509.ExtKeyUsageClientAuth)
	webCfg := filepath.Join(ca.dir, "web.yml")
	writeFile(t, webCfg, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")
	addr, _ := startDaemon(t, fastConfig(t), "--web.config.file", webCfg)
	base := "https://" + addr

	withCert := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{client}}}
	without := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}
	t.Cleanup(func() { withCert.CloseIdleConnections(); without.CloseIdleConnections() })
	resp, err := (&http.Client{Transport: withCert}).Get(base + "/metrics")
	if err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with a client certificate: %d", resp.StatusCode)
	}
	if resp, err := (&http.Client{Transport: without}).Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Errorf("without a client certificate: %d, want a refused handshake", resp.StatusCode)
	}
}

// TestWebConfigInvalid: a broken web config is a configuration error (exit
// 2) before any probe runs, not a daemon without HTTP.
func TestWebConfigInvalid(t *testing.T) {
	startSim(t)
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	writeFile(t, webCfg, "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
	code, _, stderr := runCLI(t, "run", "--config.file", example, "--web.listen-address", "127.0.0.1:0", "--web.config.file", webCfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
	}
	if !strings.Contains(stderr, "web.config.file") {
		t.Errorf("stderr does not name the flag:\n%s", stderr)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSchedulerTickTooSmall: a tick under a millisecond is refused at the
// command line, for run and demo alike, naming the flag.
func TestSchedulerTickTooSmall(t *testing.T) {
	for _, cmd := range []string{"run", "demo"} {
		code, _, stderr := runCLI(t, cmd, "--config.file", example, "--web.listen-address", "127.0.0.1:0", "--scheduler.tick", "0s")
		if code != exitUsage {
			t.Fatalf("%s: exit %d, want %d; stderr:\n%s", cmd, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "--scheduler.tick must be at least 1ms") {
			t.Errorf("%s: stderr does not name the flag:\n%s", cmd, stderr)
		}
	}
}

func TestLeaderElectionFlags(t *testing.T) {
	for args, want := range map[string]string{
		"--leader-election.backend=dynamodb":                                     "needs --leader-election.dynamodb.table",
		"--leader-election.renew-deadline=20s":                                   "must be shorter than the lease duration",
		"--leader-election.retry-period=10s --leader-election.renew-deadline=5s": "retry period",
	} {
		a := append([]string{"run", "--config.file", example, "--web.listen-address", "127.0.0.1:0"}, strings.Fields(args)...)
		code, _, stderr := runCLI(t, a...)
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, want %d and %q in stderr:\n%s", args, code, exitUsage, want, stderr)
		}
	}
}
