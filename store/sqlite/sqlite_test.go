package sqlite_test

import (
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/store/sqlite"
	"github.com/pacerhq/pacer/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens the store at path and closes it in t.Cleanup.
func open(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
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

// newStore returns a migrated store in a file of its own.
func newStore(t testing.TB) store.Store {
	t.Helper()
	db := open(t, filepath.Join(t.TempDir(), "pacer.db"))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestPingBeforeMigrate(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "pacer.db"))
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

// TestMigrateConcurrent opens one fresh file from several stores (as
// several processes would) and migrates them all at once.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pacer.db")
	dbs := []*sqlite.DB{open(t, path), open(t, path), open(t, path)}
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

// TestReopen checks that what one store commits, the next one opened on the
// same file reads.
func TestReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pacer.db")
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	j, err := db.CreateJob(t.Context(), store.NewJob{Kind: "k", Params: []byte(`{}`)}, now,
		func() (store.NewTask, error) { return store.NewTask{}, io.EOF })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := open(t, path)
	if err := db2.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after reopen: %v", err)
	}
	got, err := db2.GetJob(t.Context(), j.ID)
	if err != nil || !got.CreatedAt.Equal(now) {
		t.Fatalf("GetJob after reopen = %+v, %v", got, err)
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sqlite.Config
	}{
		{"no path", sqlite.Config{}},
		{"memory", sqlite.Config{Path: ":memory:"}},
		{"uri", sqlite.Config{Path: "file:x.db"}},
		{"query", sqlite.Config{Path: "x.db?mode=ro"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqlite.Open(t.Context(), tc.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				t.Errorf("Open error %v is a store sentinel", err)
			}
		})
	}
}
