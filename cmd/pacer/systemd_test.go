package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unitFile is a systemd unit: each section's keys, each with every value
// it was given, in order.
type unitFile map[string]map[string][]string

func readUnit(t testing.TB, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the key's single value in [Service], or fails.
func (u unitFile) one(t testing.TB, key string) string {
	t.Helper()
	v := u["Service"][key]
	if len(v) != 1 {
		t.Fatalf("[Service] %s: %d values %q, want one", key, len(v), v)
	}
	return v[0]
}

// checkFlags runs the subcommand's own flag parsing over args followed by
// -h: it ends in flag.ErrHelp only if every flag exists and every value
// parses.
func checkFlags(t testing.TB, cmd string, args []string) {
	t.Helper()
	var stderr bytes.Buffer
	err := run(context.Background(), append(append([]string{cmd}, args...), "-h"), func(string) string { return "" }, strings.NewReader(""), io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("pacer %s %s: %v\n%s", cmd, strings.Join(args, " "), err, stderr.String())
	}
}

// systemdDuration reads a systemd time span: "45s", "2min", or plain
// seconds.
func systemdDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(strings.Replace(s, "min", "m", 1))
}

// TestSystemdUnits checks the unit files in deploy/systemd against pacer:
// ExecStart runs a real subcommand with real flags; the environment file
// sets only flags' twins; the unit restarts on failure, runs as its own
// user, hardened, and stops with SIGTERM and a timeout longer than pacer's
// shutdown grace. systemd-analyze verify checks the syntax where it is
// installed.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repoRoot, "deploy", "systemd")
	env := readEnvFile(t, filepath.Join(dir, "pacer.env"))
	twins := map[string]bool{}
	for _, cmd := range []string{"serve", "work"} {
		for k := range subcommandEnv(t, cmd) {
			twins[k] = true
		}
	}
	for k := range env {
		if strings.HasPrefix(k, "PACER_") && !twins[k] {
			t.Errorf("pacer.env sets %s, which is no flag's twin for serve or work", k)
		}
	}
	credDir := t.TempDir()
	for _, tc := range []struct{ file, cmd, instance string }{
		{"pacer-serve.service", "serve", ""},
		{"pacer-work@.service", "work", "9464"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			u := readUnit(t, filepath.Join(dir, tc.file))
			exec := strings.Fields(u.one(t, "ExecStart"))
			if len(exec) < 2 || exec[0] != "/usr/local/bin/pacer" || exec[1] != tc.cmd {
				t.Fatalf("ExecStart %q: want /usr/local/bin/pacer %s ...", exec, tc.cmd)
			}
			args := exec[2:]
			grace := 30 * time.Second // -shutdown-grace's default
			if g := env["PACER_SHUTDOWN_GRACE"]; g != "" {
				var err error
				if grace, err = time.ParseDuration(g); err != nil {
					t.Fatalf("pacer.env PACER_SHUTDOWN_GRACE: %v", err)
				}
			}
			for i, a := range args {
				a = strings.ReplaceAll(a, "%i", tc.instance)
				a = strings.ReplaceAll(a, "${CREDENTIALS_DIRECTORY}", credDir)
				args[i] = a
				if a == "-shutdown-grace" && i+1 < len(args) {
					var err error
					if grace, err = time.ParseDuration(args[i+1]); err != nil {
						t.Fatalf("-shutdown-grace: %v", err)
					}
				}
			}
			checkFlags(t, tc.cmd, args)

			for key, want := range map[string]string{
				"Restart": "on-failure", "KillSignal": "SIGTERM", "NoNewPrivileges": "yes",
				"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
				"EnvironmentFile": "/etc/pacer/pacer.env",
			} {
				if !strings.Contains(strings.Join(u["Service"][key], "\n"), want) {
					t.Errorf("[Service] %s = %q, want %s", key, u["Service"][key], want)
				}
			}
			if user := u.one(t, "User"); user == "" || user == "root" || user == "0" {
				t.Errorf("User=%q: pacer needs a user of its own", user)
			}
			stop, err := systemdDuration(u.one(t, "TimeoutStopSec"))
			if err != nil || stop <= grace {
				t.Errorf("TimeoutStopSec=%s must exceed the shutdown grace %s, or systemd kills running tasks", u.one(t, "TimeoutStopSec"), grace)
			}
			if len(u["Install"]["WantedBy"]) == 0 {
				t.Error("no [Install] WantedBy: systemctl enable would do nothing")
			}
		})
	}
	verifyUnits(t, dir)
}

// readEnvFile reads KEY=value lines, as systemd's EnvironmentFile does.
func readEnvFile(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: %q is not KEY=value", path, n+1, line)
		}
		env[k] = v
	}
	return env
}

// verifyUnits runs systemd-analyze verify over copies of the units that
// start the binary this test built (verify insists that it exists), the
// template as an instance.
func verifyUnits(t *testing.T, dir string) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: units checked by parsing only")
		return
	}
	tmp := t.TempDir()
	var paths []string
	for src, dst := range map[string]string{"pacer-serve.service": "pacer-serve.service", "pacer-work@.service": "pacer-work@9464.service"} {
		b, err := os.ReadFile(filepath.Join(dir, src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, dst)
		if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte("/usr/local/bin/pacer"), []byte(pacerBin)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
