// Package pgtest gives each test its own PostgreSQL schema, so tests of any
// package can run against one real database in parallel without seeing each
// other's rows (river's riverdbtest.TestSchema does the same).
//
// It reads PACER_TEST_DATABASE_URL, never the runtime PACER_DATABASE_URL, so a
// test cannot touch a live database. It imports only lib/pq and the standard
// library.
package pgtest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	_ "github.com/lib/pq" // the driver the schema is made with
)

// URL returns PACER_TEST_DATABASE_URL. When it is unset the test is skipped,
// or fails when the CI environment variable is set: in CI every test runs.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PACER_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PACER_TEST_DATABASE_URL is not set, and CI is: tests that need PostgreSQL must run")
		}
		t.Skip("PACER_TEST_DATABASE_URL is not set")
	}
	return u
}

// Schema creates a schema of its own for t, drops it when t ends, and
// returns a connection URL whose search_path is that schema.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	name := fmt.Sprintf("pacer_test_%016x", rand.Uint64())
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		db.Close()
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: PACER_TEST_DATABASE_URL is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
