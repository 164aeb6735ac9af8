// Package version holds the build's version, stamped by the linker
// (-ldflags "-X github.com/socmond/socmond/internal/version.Version=…").
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time; the defaults describe an unstamped `go build`.
var (
	Version  = "dev"
	Revision = ""
)

// GoVersion is the Go release the binary was built with.
var GoVersion = runtime.Version()

func init() {
	if Revision != "" {
		return
	}
	// Fall back to the VCS stamp the go command records, when it did.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				Revision = s.Value
			}
		}
	}
	if Revision == "" {
		Revision = "unknown"
	}
}

// String is what `socmond --version` prints.
func String() string {
	return fmt.Sprintf("socmond %s (revision %s, %s)", Version, Revision, GoVersion)
}
