// Package testenv finds the real external programs socmond's tests run
// against (promtool, Alertmanager, Chromium, local-kms, dynalite) and starts
// them on loopback ports. `make test` installs them first (scripts/test-deps.sh),
// so a missing tool is a failure, never a silent skip.
package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Tool returns the path of an external program, looking in PATH and in the
// places scripts/test-deps.sh installs to. It fails the test when absent.
func Tool(t testing.TB, name string) string {
	t.Helper()
	root := RepoRoot(t)
	for _, p := range []string{
		filepath.Join(root, ".tools", "bin", name),
		filepath.Join(root, "test", "emulators", "node_modules", ".bin", name),
	} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("testenv: %s is not installed; run `make test-deps` (scripts/test-deps.sh) first", name)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a program in the background for the duration of the test and
// waits until addr accepts TCP connections. Its output is kept and shown if
// the test fails.
func Start(t testing.TB, addr string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(name), out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return cmd
		}
		select {
		case <-exited:
			t.Fatalf("testenv: %s exited before listening on %s:\n%s", name, addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s did not listen on %s within 30s:\n%s", name, addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Lines splits output into non-empty lines (for asserting on tool output).
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Addr formats a loopback address.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// BuildSocmond builds the socmond binary into the test's temporary
// directory, for tests that run it as a separate process, as users do.
func BuildSocmond(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "socmond")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/socmond")
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: go build socmond: %v\n%s", err, out)
	}
	return bin
}
