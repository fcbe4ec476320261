package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/sandbox"
)

// docker-compose.yaml and the Dockerfile cannot run here (no Docker
// engine), so this test holds them to what the code says: subcommands,
// flags and their environment twins, ports, scrape targets, healthcheck
// paths, mounts and the image's binary.

const repoRoot = "../.."

// composeFile is the part of docker-compose.yaml the test reads.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image         string            `yaml:"image"`
	Build         any               `yaml:"build"`
	Command       []string          `yaml:"command"`
	Environment   map[string]string `yaml:"environment"`
	Ports         []string          `yaml:"ports"`
	Volumes       []string          `yaml:"volumes"`
	ContainerName string            `yaml:"container_name"`
	StopGrace     string            `yaml:"stop_grace_period"`
	Healthcheck   *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

// pacer reports whether the service runs the pacer image.
func (s composeService) pacer() bool { return s.Build != nil }

func readCompose(t testing.TB, text []byte) composeFile {
	t.Helper()
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(false) // compose has many keys this test does not read
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	return c
}

// subcommandEnv returns the environment twins of a subcommand's flags, read
// from its -h output, as a user would see them.
func subcommandEnv(t testing.TB, cmd string) map[string]bool {
	t.Helper()
	var stderr bytes.Buffer
	err := run(context.Background(), []string{cmd, "-h"}, func(string) string { return "" }, strings.NewReader(""), io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("pacer %s -h: %v, want flag.ErrHelp (is %q a subcommand with flags?)", cmd, err, cmd)
	}
	env := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -[a-z0-9-]+ \(env (PACER_[A-Z0-9_]+)\)`).FindAllStringSubmatch(stderr.String(), -1) {
		env[m[1]] = true
	}
	if len(env) == 0 {
		t.Fatalf("pacer %s -h lists no flags:\n%s", cmd, stderr.String())
	}
	return env
}

// nonFlagEnv are the PACER_ variables pacer reads that are no flag's twin,
// with the check that the subcommand really reads each one.
var nonFlagEnv = map[string]func(t testing.TB, cmd string){
	// The admin token comes from the environment or a file, never a flag
	// (flags show in ps).
	"PACER_ADMIN_TOKEN": func(t testing.TB, cmd string) {
		if !subcommandEnv(t, cmd)["PACER_ADMIN_TOKEN_FILE"] {
			t.Errorf("%s sets PACER_ADMIN_TOKEN but takes no admin token", cmd)
		}
		var o options
		const token = "a-token-of-32-characters-or-so.."
		if err := o.readAdminToken(func(k string) string { return map[string]string{"PACER_ADMIN_TOKEN": token}[k] }); err != nil || o.adminToken != token {
			t.Errorf("PACER_ADMIN_TOKEN is not read: %q, %v", o.adminToken, err)
		}
	},
}

// configEnv is what the subcommand reads the credentials file with: serve
// reads no tokens (nil), a worker reads them from its environment.
func configEnv(cmd string, s composeService) func(string) string {
	if cmd == "serve" {
		return nil
	}
	return func(k string) string { return s.Environment[k] }
}

// hostPort splits a URL's or an address's host and port.
func hostPort(t testing.TB, what, s string) (string, int) {
	t.Helper()
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		s = u.Host
		if u.Port() == "" {
			t.Fatalf("%s: %q names no port", what, s)
		}
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		t.Fatalf("%s: %q is not host:port: %v", what, s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s: port %q: %v", what, p, err)
	}
	return h, port
}

// healthURL returns the URL a healthcheck fetches with wget.
func healthURL(t testing.TB, name string, s composeService) *url.URL {
	t.Helper()
	if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
		t.Fatalf("service %s: no healthcheck of the form [CMD, ...]", name)
	}
	test := s.Healthcheck.Test[1:]
	if test[0] != "wget" {
		t.Fatalf("service %s: healthcheck %v: a pacer image has busybox's wget, not %s", name, test, test[0])
	}
	u, err := url.Parse(test[len(test)-1])
	if err != nil || u.Scheme != "http" {
		t.Fatalf("service %s: healthcheck %v does not end with an http URL", name, test)
	}
	return u
}

// containerPorts returns the container side of each ports entry
// ("127.0.0.1:8080:8080" → 8080).
func containerPorts(t testing.TB, s composeService) []int {
	t.Helper()
	var ports []int
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			t.Fatalf("ports entry %q: %v", p, err)
		}
		if len(parts) != 3 || parts[0] != "127.0.0.1" {
			t.Errorf("ports entry %q publishes beyond the host's loopback", p)
		}
		ports = append(ports, n)
	}
	return ports
}

// mounts maps each bind mount's target to its source, relative to the repo.
func mounts(s composeService) map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

// answers reports the status h gives GET path.
func answers(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// TestCompose checks docker-compose.yaml against pacer's configuration.
func TestCompose(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkCompose(t, text)
}

// checkCompose is the whole check of one docker-compose.yaml; the test
// below feeds it broken variants to see it fail.
func checkCompose(t testing.TB, text []byte) {
	c := readCompose(t, text)
	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"grafana", "migrate", "postgres", "prometheus", "rabbitmq", "sandbox", "serve", "work"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	svc := c.Services

	// Every PACER_ variable is a flag's twin (or read otherwise) for the
	// subcommand the service runs; every subcommand is real.
	for _, name := range names {
		s := svc[name]
		if !s.pacer() {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s runs the pacer image with no command", name)
			continue
		}
		cmd := s.Command[0]
		env := subcommandEnv(t, cmd)
		for k := range s.Environment {
			if !strings.HasPrefix(k, "PACER_") || env[k] {
				continue
			}
			if check, ok := nonFlagEnv[k]; ok {
				check(t, cmd)
				continue
			}
			t.Errorf("service %s (pacer %s) sets %s, which is no flag's environment twin", name, cmd, k)
		}
		if s.Environment["PACER_DATABASE_URL"] != "" {
			if h, p := hostPort(t, name+" PACER_DATABASE_URL", s.Environment["PACER_DATABASE_URL"]); h != "postgres" || p != 5432 {
				t.Errorf("service %s: PACER_DATABASE_URL points at %s:%d, not the postgres service", name, h, p)
			}
		}
		if u := s.Environment["PACER_AMQP_URL"]; u != "" {
			if h, p := hostPort(t, name+" PACER_AMQP_URL", u); h != "rabbitmq" || p != 5672 {
				t.Errorf("service %s: PACER_AMQP_URL points at %s:%d, not the rabbitmq service", name, h, p)
			}
		}
		if u := s.Environment["PACER_RABBITMQ_MANAGEMENT_URL"]; u != "" {
			if h, p := hostPort(t, name+" PACER_RABBITMQ_MANAGEMENT_URL", u); h != "rabbitmq" || p != 15672 {
				t.Errorf("service %s: PACER_RABBITMQ_MANAGEMENT_URL points at %s:%d, not rabbitmq's management plugin", name, h, p)
			}
			if !strings.Contains(svc["rabbitmq"].Image, "management") {
				t.Errorf("rabbitmq image %q has no management plugin, which %s's PACER_RABBITMQ_MANAGEMENT_URL needs", svc["rabbitmq"].Image, name)
			}
		}
		if cfg := s.Environment["PACER_CONFIG"]; cfg != "" {
			src, ok := mounts(s)[cfg]
			if !ok {
				t.Errorf("service %s: PACER_CONFIG %s is not mounted", name, cfg)
			} else if _, err := loadConfig(filepath.Join(repoRoot, src), configEnv(cmd, s)); err != nil {
				t.Errorf("service %s: %s: %v", name, src, err)
			}
		}
	}
	for _, name := range []string{"serve", "work"} {
		if cmd := svc[name].Command; len(cmd) == 0 || cmd[0] != name {
			t.Errorf("service %s runs pacer %v, want pacer %s", name, cmd, name)
		}
	}

	// The addresses agree: serve's -listen, work's -metrics-listen and the
	// sandbox's -listen with their healthchecks, the published ports and
	// the URLs that reach them.
	_, servePort := hostPort(t, "serve PACER_LISTEN", svc["serve"].Environment["PACER_LISTEN"])
	_, workPort := hostPort(t, "work PACER_METRICS_LISTEN", svc["work"].Environment["PACER_METRICS_LISTEN"])
	sbHost, sbPort := hostPort(t, "sandbox PACER_LISTEN", svc["sandbox"].Environment["PACER_LISTEN"])
	if sbHost != "0.0.0.0" || svc["serve"].Environment["PACER_LISTEN"][:8] != "0.0.0.0:" || svc["work"].Environment["PACER_METRICS_LISTEN"][:8] != "0.0.0.0:" {
		t.Errorf("serve, work and sandbox must listen on 0.0.0.0 inside their containers")
	}
	if !slices.Contains(containerPorts(t, svc["serve"]), servePort) {
		t.Errorf("serve listens on %d but publishes %v", servePort, svc["serve"].Ports)
	}
	if svc["serve"].Environment["PACER_ADMIN_TOKEN"] == "" && svc["serve"].Environment["PACER_ADMIN_TOKEN_FILE"] == "" {
		t.Errorf("serve listens beyond loopback without an admin token: pacer refuses to start")
	}
	for _, name := range []string{"serve", "work"} {
		if u := svc[name].Environment["PACER_X_API_URL"]; u != "" {
			if h, p := hostPort(t, name+" PACER_X_API_URL", u); h != "sandbox" || p != sbPort {
				t.Errorf("service %s: PACER_X_API_URL %s is not the sandbox service on %d", name, u, sbPort)
			}
		}
	}
	if w := svc["work"]; len(w.Ports) != 0 || w.ContainerName != "" {
		t.Errorf("work publishes ports %v or has container_name %q: --scale work=N would collide", w.Ports, w.ContainerName)
	}

	// Healthchecks: every long-running service has one; pacer's ask for
	// paths that its handlers serve, on the ports they listen on.
	for _, name := range names {
		if name != "migrate" && svc[name].Healthcheck == nil {
			t.Errorf("service %s has no healthcheck", name)
		}
	}
	quietLog := slog.New(slog.DiscardHandler)
	workMux := http.NewServeMux()
	addHealth(workMux, func(context.Context) error { return nil }, quietLog)
	serveHandler := serveHandler(t, quietLog)
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, hc := range []struct {
		service string
		port    int
		handler http.Handler
	}{{"serve", servePort, serveHandler}, {"work", workPort, workMux}, {"sandbox", sbPort, sb}} {
		u := healthURL(t, hc.service, svc[hc.service])
		if h, p := hostPort(t, hc.service+" healthcheck", u.String()); h != "127.0.0.1" || p != hc.port {
			t.Errorf("service %s: healthcheck asks %s:%d, but it listens on port %d", hc.service, h, p, hc.port)
		}
		if hc.service != "sandbox" && u.Path != "/readyz" {
			t.Errorf("service %s: healthcheck asks %s; /readyz says whether it can work", hc.service, u.Path)
		}
		if code := answers(hc.handler, u.Path); code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
			t.Errorf("service %s: healthcheck path %s: %d", hc.service, u.Path, code)
		}
	}

	// Start order: pacer waits for healthy servers and the migration;
	// service_healthy names only services with a healthcheck.
	for _, name := range []string{"serve", "work"} {
		for dep, cond := range map[string]string{"postgres": "service_healthy", "rabbitmq": "service_healthy", "migrate": "service_completed_successfully"} {
			if got := svc[name].DependsOn[dep].Condition; got != cond {
				t.Errorf("service %s depends on %s with %q, want %q", name, dep, got, cond)
			}
		}
	}
	for _, name := range names {
		for dep, d := range svc[name].DependsOn {
			if _, ok := svc[dep]; !ok {
				t.Errorf("service %s depends on %s, which does not exist", name, dep)
			} else if d.Condition == "service_healthy" && svc[dep].Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
	}

	// Shutdown: compose's SIGKILL comes after the grace period pacer takes.
	for _, name := range []string{"serve", "work"} {
		grace := 30 * time.Second // -shutdown-grace's default
		if g := svc[name].Environment["PACER_SHUTDOWN_GRACE"]; g != "" {
			if grace, err = time.ParseDuration(g); err != nil {
				t.Fatalf("service %s: PACER_SHUTDOWN_GRACE: %v", name, err)
			}
		}
		stop, err := time.ParseDuration(svc[name].StopGrace)
		if err != nil || stop <= grace {
			t.Errorf("service %s: stop_grace_period %q must exceed the shutdown grace %s", name, svc[name].StopGrace, grace)
		}
	}

	// Prometheus scrapes serve and every worker where they listen, with the
	// rules mounted where its configuration reads them.
	prom := svc["prometheus"]
	pm := mounts(prom)
	src, ok := pm["/etc/prometheus/prometheus.yml"]
	if !ok {
		t.Fatalf("prometheus: no configuration mounted at /etc/prometheus/prometheus.yml (mounts %v)", pm)
	}
	promText, err := os.ReadFile(filepath.Join(repoRoot, src))
	if err != nil {
		t.Fatal(err)
	}
	var pc promConfig
	if err := yaml.Unmarshal(promText, &pc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	scraped := map[string]bool{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				scraped[target] = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				scraped[fmt.Sprintf("%s:%d", n, d.Port)] = true
			}
		}
	}
	for _, target := range []string{fmt.Sprintf("serve:%d", servePort), fmt.Sprintf("work:%d", workPort)} {
		if !scraped[target] {
			t.Errorf("%s does not scrape %s (it scrapes %v)", src, target, scraped)
		}
	}
	if n := len(pc.RuleFiles); n == 0 {
		t.Errorf("%s loads no alert rules", src)
	}
	for _, rf := range pc.RuleFiles {
		if _, ok := pm[rf]; !ok {
			t.Errorf("%s loads rules from %s, which prometheus does not mount", src, rf)
		}
	}

	// Grafana reads the provisioning files, which point at the dashboards'
	// mount and at the prometheus service.
	gm := mounts(svc["grafana"])
	if gm["/etc/grafana/provisioning"] != "./dashboards/provisioning" {
		t.Errorf("grafana: ./dashboards/provisioning is not mounted at /etc/grafana/provisioning (mounts %v)", gm)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(repoRoot, "dashboards/provisioning/dashboards/pacer.yaml"), &dp)
	for _, p := range dp.Providers {
		src, ok := gm[p.Options.Path]
		if !ok {
			t.Errorf("grafana: dashboards provisioned from %s, which is not mounted (mounts %v)", p.Options.Path, gm)
			continue
		}
		if js, _ := filepath.Glob(filepath.Join(repoRoot, src, "*.json")); len(js) == 0 {
			t.Errorf("grafana: %s, mounted at %s, holds no dashboard", src, p.Options.Path)
		}
	}
	var ds struct {
		Datasources []struct {
			URL string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(repoRoot, "dashboards/provisioning/datasources/pacer.yaml"), &ds)
	for _, d := range ds.Datasources {
		if h, p := hostPort(t, "grafana datasource", d.URL); h != "prometheus" || !slices.Contains(containerPorts(t, prom), p) {
			t.Errorf("grafana datasource %s is not the prometheus service (ports %v)", d.URL, prom.Ports)
		}
	}

	// Every bind mount's source is in the repository; every named volume is
	// declared.
	for _, name := range names {
		for _, v := range svc[name].Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which is not declared", name, src)
			}
		}
	}
}

// serveHandler is serve's web handler, on an SQLite store.
func serveHandler(t testing.TB, log *slog.Logger) http.Handler {
	t.Helper()
	s, err := openStore(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "pacer.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	kinds, err := newRegistry("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := jobs.NewService(jobs.ServiceConfig{Store: s, Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newWeb(s, nil, svc, newMetricsRegistry(), log, "")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readYAML(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestComposeCatchesMistakes: the check fails on a compose file with a
// flag's twin misspelt, a port moved on one side only, a fixed worker
// name, or a healthcheck path pacer does not serve.
func TestComposeCatchesMistakes(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new string }{
		{"unknown variable", "PACER_CONCURRENCY:", "PACER_CONCURENCY:"},
		{"flag of another subcommand", "PACER_CONCURRENCY:", "PACER_REPUBLISH_AFTER:"},
		{"serve port moved", "PACER_LISTEN: 0.0.0.0:8080", "PACER_LISTEN: 0.0.0.0:8088"},
		{"worker port moved", "PACER_METRICS_LISTEN: 0.0.0.0:9464", "PACER_METRICS_LISTEN: 0.0.0.0:9465"},
		{"worker with a fixed name", "  work:\n", "  work:\n    container_name: pacer-work\n"},
		{"healthcheck path", "http://127.0.0.1:9464/readyz", "http://127.0.0.1:9464/ready"},
		{"sandbox URL", "PACER_X_API_URL: http://sandbox:8081", "PACER_X_API_URL: http://sandbox:8082"},
		{"short stop grace", "PACER_SHUTDOWN_GRACE: 30s", "PACER_SHUTDOWN_GRACE: 60s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !bytes.Contains(text, []byte(tc.old)) {
				t.Fatalf("docker-compose.yaml no longer contains %q: update this test", tc.old)
			}
			broken := bytes.Replace(text, []byte(tc.old), []byte(tc.new), 1)
			rec := &failRecorder{TB: t}
			func() {
				defer func() { _ = recover() }() // Fatalf's Goexit stand-in
				checkCompose(rec, broken)
			}()
			if !rec.failed {
				t.Errorf("checkCompose passed a compose file with %s", tc.name)
			}
		})
	}
}

// failRecorder records failures instead of failing the test.
type failRecorder struct {
	testing.TB
	failed bool
}

func (r *failRecorder) Errorf(string, ...any) { r.failed = true }
func (r *failRecorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
func (r *failRecorder) Fatal(...any)          { r.failed = true; panic("fatal") }
func (r *failRecorder) Helper()               {}

// TestDockerfile checks the image against the binary: built from
// ./cmd/pacer with CGO off and the version stamped where `pacer version`
// reads it, copied to the path the entrypoint runs, as a user that is not
// root, exposing the ports compose uses.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	_ = &version // -X main.version needs this package-level string
	froms := regexp.MustCompile(`(?m)^FROM (\S+)(?: AS (\S+))?`).FindAllStringSubmatch(text, -1)
	if len(froms) < 2 || froms[0][2] == "" || strings.HasPrefix(froms[len(froms)-1][1], "golang") {
		t.Fatalf("want a multi-stage build ending on a small base, got stages %v", froms)
	}
	build := regexp.MustCompile(`CGO_ENABLED=0 go build (?:[^\n\\]|\\\n)*`).FindString(text)
	if build == "" {
		t.Fatal("no `CGO_ENABLED=0 go build`: the image needs a static binary")
	}
	out := regexp.MustCompile(`-o (\S+) \./cmd/pacer\b`).FindStringSubmatch(build)
	if out == nil || !strings.Contains(build, "-X main.version=") {
		t.Fatalf("the build must write ./cmd/pacer with -o and stamp -X main.version=: %q", build)
	}
	cp := regexp.MustCompile(`(?m)^COPY --from=` + regexp.QuoteMeta(froms[0][2]) + ` (\S+) (\S+)$`).FindStringSubmatch(text)
	if cp == nil || cp[1] != out[1] {
		t.Fatalf("the final stage does not copy the built %s (copies %v)", out[1], cp)
	}
	var entry []string
	if m := regexp.MustCompile(`(?m)^ENTRYPOINT (\[.*\])$`).FindStringSubmatch(text); m == nil || json.Unmarshal([]byte(m[1]), &entry) != nil || len(entry) != 1 || entry[0] != cp[2] {
		t.Fatalf("ENTRYPOINT %v must be the exec form of %s alone (so that SIGTERM reaches pacer and compose's command is its arguments)", entry, cp[2])
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)$`).FindAllStringSubmatch(text, -1)
	if len(users) == 0 {
		t.Fatal("no USER: the image would run as root")
	}
	user := users[len(users)-1][1]
	if uid := strings.Split(user, ":")[0]; uid == "0" || uid == "root" {
		t.Fatalf("USER %s is root", user)
	} else if _, err := strconv.Atoi(uid); err != nil {
		t.Errorf("USER %s: use a numeric uid, so that runAsNonRoot can verify it", user)
	}
	if !strings.Contains(text, "ca-certificates") {
		t.Error("no CA certificates: HTTPS upstreams would fail")
	}
	exposed := regexp.MustCompile(`(?m)^EXPOSE (.*)$`).FindStringSubmatch(text)
	c := readCompose(t, mustRead(t, filepath.Join(repoRoot, "docker-compose.yaml")))
	for _, l := range []struct{ service, env string }{{"serve", "PACER_LISTEN"}, {"work", "PACER_METRICS_LISTEN"}, {"sandbox", "PACER_LISTEN"}} {
		_, p := hostPort(t, l.service, c.Services[l.service].Environment[l.env])
		if exposed == nil || !slices.Contains(strings.Fields(exposed[1]), strconv.Itoa(p)) {
			t.Errorf("the Dockerfile does not EXPOSE %d (%s's %s)", p, l.service, l.env)
		}
	}
	ignore := string(mustRead(t, filepath.Join(repoRoot, ".dockerignore")))
	if !regexp.MustCompile(`(?m)^\.git$`).MatchString(ignore) {
		t.Error(".dockerignore does not leave out .git")
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
