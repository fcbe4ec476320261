package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/postgres"
	"github.com/pacerhq/pacer/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// baseURL returns PACER_TEST_DATABASE_URL (never the runtime
// PACER_DATABASE_URL, so a test cannot touch a live database). Without it
// the test skips, or fails when CI is set.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PACER_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PACER_TEST_DATABASE_URL is not set")
		}
		t.Skip("PACER_TEST_DATABASE_URL is not set")
	}
	return u
}

// testSchema creates a schema of its own for the test, drops it in
// t.Cleanup, and returns a URL whose search_path selects it.
func testSchema(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("PACER_TEST_DATABASE_URL must be a postgres:// URL")
	}
	connector, err := pq.NewConnector(base)
	if err != nil {
		t.Fatalf("PACER_TEST_DATABASE_URL: %v", err)
	}
	admin := sql.OpenDB(connector)
	admin.SetMaxOpenConns(1)
	name := "test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+name); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is done by now; the drop must still run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
		admin.Close()
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// open opens a store at url and closes it in t.Cleanup. Four connections
// per store keep parallel tests well inside max_connections and still let
// the concurrency tests contend.
func open(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), postgres.Config{URL: url, MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// newStore returns a migrated store in a schema of its own.
func newStore(t testing.TB) store.Store {
	t.Helper()
	db := open(t, testSchema(t))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	baseURL(t)
	storetest.Run(t, newStore)
}

func TestPingBeforeMigrate(t *testing.T) {
	t.Parallel()
	db := open(t, testSchema(t))
	if err := db.Ping(t.Context()); err == nil {
		t.Fatal("Ping before Migrate succeeded, want an error")
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after Migrate: %v", err)
	}
}

// TestMigrateConcurrent migrates one fresh schema from two stores at once,
// as two processes starting together would.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	u := testSchema(t)
	dbs := []*postgres.DB{open(t, u), open(t, u)}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			if err := db.Migrate(t.Context()); err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, db := range dbs {
		if err := db.Ping(t.Context()); err != nil {
			t.Errorf("Ping %d: %v", i, err)
		}
	}
}

func TestProbeCommits(t *testing.T) {
	t.Parallel()
	db := newStore(t).(*postgres.DB)
	perSecond, err := db.ProbeCommits(t.Context(), 50)
	if err != nil {
		t.Fatalf("ProbeCommits: %v", err)
	}
	if perSecond <= 0 {
		t.Errorf("ProbeCommits = %v commits/s, want a positive rate", perSecond)
	}
	t.Logf("%.0f commits/s", perSecond)
	if _, err := db.ProbeCommits(t.Context(), 0); err == nil {
		t.Error("ProbeCommits(0) succeeded, want an error")
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  postgres.Config
	}{
		{"no url", postgres.Config{}},
		{"negative conns", postgres.Config{URL: "postgres://localhost/x", MaxOpenConns: -1}},
		{"bad url", postgres.Config{URL: "postgres://u:secret@[::1/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := postgres.Open(t.Context(), tc.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Open error %q shows the password", err)
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections at once.
	db, err := postgres.Open(ctx, postgres.Config{URL: "postgres://u:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"})
	if err == nil {
		db.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("Open error %q shows the password", err)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		t.Errorf("Open error wraps a *pq.Error: %v", err)
	}
}
