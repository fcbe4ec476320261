package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The 24/7 test restarts PostgreSQL and RabbitMQ under running pacer
// processes. Other packages' tests use the shared servers at the same time,
// so it starts servers of its own: a PostgreSQL cluster and a RabbitMQ node
// in temporary directories, on free loopback ports, torn down in t.Cleanup.
// Each server runs as a direct child of the test binary with Pdeathsig set,
// so that even a test binary killed outright takes them along.

const pgBin = "/usr/lib/postgresql/15/bin"

// needPrivateServers skips the test, or fails it when CI is set, unless this
// machine can start private servers: root (to run PostgreSQL as its own
// user), PostgreSQL 15's binaries and RabbitMQ's.
func needPrivateServers(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (PostgreSQL must run as the postgres user)")
	}
	for _, bin := range []string{pgBin + "/initdb", pgBin + "/postgres", pgBin + "/pg_isready", rabbitBin + "/rabbitmq-server", rabbitBin + "/rabbitmqctl"} {
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := user.Lookup("postgres"); err != nil {
		missing = append(missing, "the postgres user")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("cannot start private servers, and CI is set: missing %v", missing)
	}
	t.Skipf("cannot start private servers: missing %v", missing)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// server is a child process the test owns.
type server struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer // stdout and stderr; read only after done
	done chan struct{}
}

// startServer starts cmd as a child that dies with the test binary.
func startServer(t *testing.T, name string, cmd *exec.Cmd) *server {
	t.Helper()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	s := &server{name: name, cmd: cmd, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s
}

// exited reports whether the process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// kill ends the server's whole process group at once and waits for it.
func (s *server) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// stop sends sig and waits up to timeout for the server to exit, then
// kills it. It reports whether the server stopped of its own accord.
func (s *server) stop(sig syscall.Signal, timeout time.Duration) bool {
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		return true
	case <-time.After(timeout):
		s.kill()
		return false
	}
}

// privatePostgres is a PostgreSQL 15 cluster of the test's own, trust
// authentication, on 127.0.0.1 only.
type privatePostgres struct {
	t        *testing.T
	dir      string
	port     int
	uid, gid uint32

	mu  sync.Mutex
	srv *server
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	// Not t.TempDir: its parents are private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "pacer247-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, dir: dir, port: freePort(t), uid: uint32(uid), gid: uint32(gid)}
	initdb := exec.Command(pgBin+"/initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: p.uid, Gid: p.gid}}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.srv != nil && !p.srv.stop(syscall.SIGQUIT, 10*time.Second) {
			t.Errorf("private postgres did not stop on SIGQUIT; killed")
		}
	})
	p.start()
	return p
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

// URL is the cluster's postgres database, as the postgres superuser.
func (p *privatePostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// start runs the postmaster and waits until it accepts connections.
func (p *privatePostgres) start() {
	p.t.Helper()
	cmd := exec.Command(pgBin+"/postgres", "-D", p.data(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(p.port),
		"-c", "unix_socket_directories="+p.dir,
		// A test cluster: durability buys nothing, and the machine is shared.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: p.uid, Gid: p.gid}}
	cmd.Dir = p.dir
	srv := startServer(p.t, "postgres", cmd)
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	p.waitReady(60 * time.Second)
}

// waitReady polls pg_isready until the server accepts connections.
func (p *privatePostgres) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if exec.Command(pgBin+"/pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-t", "1").Run() == nil {
			return
		}
		if p.srv.exited() {
			p.t.Fatalf("private postgres exited while starting:\n%s", p.srv.out.String())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("private postgres not ready within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopFast is pg_ctl stop -m fast: SIGINT, which disconnects every client
// and shuts down cleanly.
func (p *privatePostgres) stopFast() {
	p.t.Helper()
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if !srv.stop(syscall.SIGINT, 60*time.Second) {
		p.t.Fatalf("private postgres did not stop on SIGINT:\n%s", srv.out.String())
	}
}

const rabbitBin = "/usr/lib/rabbitmq/bin"

// privateRabbit is a RabbitMQ node of the test's own, without plugins, on
// 127.0.0.1 only, with guest/guest.
type privateRabbit struct {
	t    *testing.T
	dir  string
	node string
	port int
	env  []string
	srv  *server
}

// rabbitPorts picks the AMQP and the distribution ports. rabbitmqctl's own
// distribution port is picked from the 11 ports 10,000 above the node's, so
// those must stay clear of the AMQP port, and of 65535.
func rabbitPorts(t *testing.T) (amqpPort, distPort int) {
	t.Helper()
	for range 100 {
		amqpPort, distPort = freePort(t), freePort(t)
		cliMin := distPort + 10000
		if amqpPort != distPort && cliMin+10 <= 65535 && (amqpPort < cliMin || amqpPort > cliMin+10) {
			return amqpPort, distPort
		}
	}
	t.Fatal("no usable pair of ports for a private RabbitMQ node")
	return 0, 0
}

func startPrivateRabbit(t *testing.T) *privateRabbit {
	t.Helper()
	dir, err := os.MkdirTemp("", "pacer247-rmq-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var b [4]byte
	_, _ = rand.Read(b[:])
	amqpPort, distPort := rabbitPorts(t)
	r := &privateRabbit{t: t, dir: dir, node: "pacer247-" + hex.EncodeToString(b[:]) + "@localhost", port: amqpPort}
	conf := fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\n", amqpPort)
	for name, text := range map[string]string{"rabbitmq.conf": conf, "enabled_plugins": "[].\n", "rabbitmq-env.conf": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.env = append(os.Environ(),
		"HOME="+dir, // the Erlang cookie, shared by the node and rabbitmqctl only
		"RABBITMQ_NODENAME="+r.node,
		"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		// Not /etc/rabbitmq/rabbitmq-env.conf, which names the system's node.
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "rabbitmq-env.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_ADDRESS=127.0.0.1",
		// exec the VM in place of the script, so that Pdeathsig and our
		// signals reach the VM itself.
		"RUNNING_UNDER_SYSTEMD=true",
	)
	cmd := exec.Command(rabbitBin + "/rabbitmq-server")
	cmd.Env, cmd.Dir = r.env, dir
	r.srv = startServer(t, "rabbitmq", cmd)
	t.Cleanup(func() {
		if r.srv.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := r.ctlContext(ctx, "stop"); err != nil {
			t.Logf("rabbitmqctl stop: %v\n%s", err, out)
		}
		if !r.srv.stop(syscall.SIGTERM, 20*time.Second) {
			t.Errorf("private rabbitmq node did not stop; killed")
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !r.accepting() {
		if r.srv.exited() {
			t.Fatalf("private rabbitmq exited while starting:\n%s", r.srv.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("private rabbitmq not listening on %d within 90s", amqpPort)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.ctl("await_startup")
	return r
}

// URL is the node's AMQP URL.
func (r *privateRabbit) URL() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port) }

// accepting reports whether the AMQP port takes connections.
func (r *privateRabbit) accepting() bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (r *privateRabbit) ctlContext(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, rabbitBin+"/rabbitmqctl", append([]string{"-n", r.node}, args...)...)
	cmd.Env, cmd.Dir = r.env, r.dir
	return cmd.CombinedOutput()
}

// ctl runs rabbitmqctl against the node and fails the test if it fails.
func (r *privateRabbit) ctl(args ...string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), 90*time.Second)
	defer cancel()
	if out, err := r.ctlContext(ctx, args...); err != nil {
		r.t.Fatalf("rabbitmqctl %v: %v\n%s", args, errors.Join(err, ctx.Err()), out)
	}
}
