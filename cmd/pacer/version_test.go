package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestVersion(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	for _, tc := range []struct{ set, want string }{
		{"", "pacer devel\n"}, // a test binary records no module version
		{"v1.2.3", "pacer v1.2.3\n"},
	} {
		version = tc.set
		var out bytes.Buffer
		if err := run(t.Context(), []string{"version"}, func(string) string { return "" }, nil, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out.String(), "\n")
		if len(lines) != 4 || lines[0]+"\n" != tc.want || !strings.HasPrefix(lines[1], "revision ") || lines[2] != runtime.Version() {
			t.Errorf("version %q: printed %q, want %q then revision and %s", tc.set, out.String(), tc.want, runtime.Version())
		}
	}
	if err := run(t.Context(), []string{"version", "extra"}, func(string) string { return "" }, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("version accepted a positional argument")
	}
}

func TestBuildInfoMetric(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	version = "v9.8.7"
	want := `# HELP pacer_build_info Always 1; the labels say which pacer build this process runs.
# TYPE pacer_build_info gauge
pacer_build_info{goversion="` + runtime.Version() + `",revision="` + readBuildInfo().Revision + `",version="v9.8.7"} 1
`
	if err := testutil.CollectAndCompare(buildInfoCollector(), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
