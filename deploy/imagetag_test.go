package deploy

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makefileRelease is RELEASE from the Makefile: the version the shipped
// manifests deploy.
func makefileRelease(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^RELEASE\s*:=\s*(\S+)\s*$`).FindStringSubmatch(mustRead(t, "../Makefile"))
	if m == nil {
		t.Fatal("the Makefile names no RELEASE")
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m[1]) {
		t.Fatalf("RELEASE %q is not a version vMAJOR.MINOR.PATCH", m[1])
	}
	return m[1]
}

// TestImagesTaggedWithRelease: the Kubernetes and ECS manifests run the
// image of the release the Makefile names. :latest (or no tag, which means
// latest) moves under a running deployment: a restarted pod or task runs
// whatever was pushed last, and there is no version to roll back to.
func TestImagesTaggedWithRelease(t *testing.T) {
	release := makefileRelease(t)

	for _, img := range readKustomization(t, k8sDir, "Kustomization").Images {
		if img.NewTag != release {
			t.Errorf("kustomization: image %s is tagged %q, want the release %s", img.Name, img.NewTag, release)
		}
	}

	var td struct {
		ContainerDefinitions []struct {
			Image string `json:"image"`
		} `json:"containerDefinitions"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, "ecs/task-definition.json")), &td); err != nil {
		t.Fatal(err)
	}
	for _, c := range td.ContainerDefinitions {
		repo, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
		if !ok || tag != release || repo != "socmond" {
			t.Errorf("ECS: image %q, want socmond:%s", c.Image, release)
		}
	}
}

// TestNoLatestTags: no manifest under deploy/ names an image by :latest.
func TestNoLatestTags(t *testing.T) {
	latest := regexp.MustCompile(`(?i)(:latest\b|\b(new)?tag:\s*["']?latest\b)`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml", ".json", ".tpl":
		default:
			return nil
		}
		for i, line := range strings.Split(mustRead(t, path), "\n") {
			if latest.MatchString(line) {
				t.Errorf("%s:%d names an image by latest: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
