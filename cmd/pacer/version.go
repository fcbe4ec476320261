package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version is pacer's release, set at link time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/pacer
//
// Empty, it falls back to the module version that `go install` records in
// the binary, and then to "devel".
var version string

// buildInfo is what `pacer version` prints and pacer_build_info carries.
type buildInfo struct {
	Version   string // -X main.version, else the module's version, else "devel"
	Revision  string // the VCS revision the binary was built from, "unknown" if not recorded
	GoVersion string // the Go toolchain that built it
}

// readBuildInfo returns this binary's build info. The revision comes from
// the VCS stamp `go build` adds in a git checkout (-buildvcs), with
// "-dirty" appended when the tree had uncommitted changes.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Revision: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Revision != "unknown" {
			b.Revision += "-dirty"
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// buildInfoCollector returns the pacer_build_info gauge: always 1, with the
// version, revision and Go version as labels (one series per process), so
// that a query can join it or count the versions running.
func buildInfoCollector() prometheus.Collector {
	b := readBuildInfo()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pacer_build_info",
		Help:        "Always 1; the labels say which pacer build this process runs.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}

// cmdVersion prints the version, the revision and the Go version.
func cmdVersion(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlagSet("version", "version", getenv, stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.args()) > 0 {
		return fmt.Errorf("version: unexpected argument %q", f.args()[0])
	}
	b := readBuildInfo()
	_, err := fmt.Fprintf(stdout, "pacer %s\nrevision %s\n%s\n", b.Version, b.Revision, b.GoVersion)
	return err
}
