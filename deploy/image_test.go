package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/testenv"
)

// TestImage builds the image the way `make image` does (scripts/image.sh,
// buildah, offline) into a private store, inspects its configuration and
// runs the binary taken from its root filesystem: podman cannot run
// containers here, and the binary is static, so this is what the container
// would execute.
func TestImage(t *testing.T) {
	buildah := testenv.Tool(t, "buildah")
	root := testenv.RepoRoot(t)
	store := t.TempDir()
	flags := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs"}
	const image = "localhost/socmond:imagetest"

	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "scripts", "image.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BUILDAH_FLAGS="+strings.Join(flags, " "), "IMAGE="+image, "VERSION=v9.9.9-test", "REVISION=abc123")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	t.Logf("image built in %s", time.Since(start).Round(time.Second))

	bh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(buildah, append(flags, args...)...).Output()
		if err != nil {
			t.Fatalf("buildah %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	var inspect struct {
		OCIv1 struct {
			Config struct {
				User         string              `json:"User"`
				Entrypoint   []string            `json:"Entrypoint"`
				Cmd          []string            `json:"Cmd"`
				ExposedPorts map[string]struct{} `json:"ExposedPorts"`
				Labels       map[string]string   `json:"Labels"`
			} `json:"config"`
		} `json:"OCIv1"`
	}
	if err := json.Unmarshal([]byte(bh("inspect", "--type", "image", image)), &inspect); err != nil {
		t.Fatal(err)
	}
	c := inspect.OCIv1.Config
	if c.User == "" || strings.HasPrefix(c.User, "0") || strings.HasPrefix(c.User, "root") {
		t.Errorf("image user %q is not a non-root user", c.User)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != imageEntrypoint {
		t.Errorf("entrypoint %v, want [%s]", c.Entrypoint, imageEntrypoint)
	}
	if _, ok := c.ExposedPorts["9815/tcp"]; !ok {
		t.Errorf("exposed ports %v lack 9815/tcp", c.ExposedPorts)
	}
	if c.Labels["org.opencontainers.image.version"] != "v9.9.9-test" {
		t.Errorf("version label %q", c.Labels["org.opencontainers.image.version"])
	}
	if c.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
		t.Errorf("licenses label %q, want the SPDX identifier Apache-2.0", c.Labels["org.opencontainers.image.licenses"])
	}

	// Take the binary, CA bundle and example config out of the root filesystem.
	ctr := bh("from", "--pull-never", image)
	t.Cleanup(func() { _ = exec.Command(buildah, append(flags, "rm", ctr)...).Run() })
	mnt := bh("mount", ctr)
	t.Cleanup(func() { _ = exec.Command(buildah, append(flags, "umount", ctr)...).Run() })
	for _, f := range []string{"etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/socmond/config.example.yaml", "usr/share/doc/socmond/LICENSE"} {
		if _, err := os.Stat(filepath.Join(mnt, f)); err != nil {
			t.Errorf("image lacks /%s: %v", f, err)
		}
	}
	bin := filepath.Join(mnt, imageEntrypoint)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v9.9.9-test") {
		t.Errorf("socmond --version from the image: %v\n%s", err, out)
	}
	if ldd, err := exec.Command("file", bin).Output(); err == nil && !strings.Contains(string(ldd), "statically linked") {
		t.Errorf("binary is not static: %s", ldd)
	}
	check := exec.Command(bin, "check-config", "--config.file", filepath.Join(mnt, "etc/socmond/config.example.yaml"))
	check.Env = append(os.Environ(), "AWS_REGION=us-east-1")
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("check-config of the example from the image: %v\n%s", err, out)
	}
}
