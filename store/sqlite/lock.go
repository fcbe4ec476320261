package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/pressly/goose/v3/lock"
)

// migrateLease is how long a migration lock holds without being released.
// A process that dies while migrating blocks the others for at most this
// long. A migration that runs longer than this no longer excludes a second
// migrator, but still cannot interleave with it: each migration runs in a
// BEGIN IMMEDIATE transaction, so the second one waits for the first to
// commit and then fails on the objects it finds already created, an error
// rather than damage.
const migrateLease = time.Minute

// migrateLocker is a goose [lock.Locker] for SQLite, which goose lacks: a
// single row in pacer_migrate_lock, taken with an upsert that succeeds only
// when the row is absent or its lease has run out. Without it, two processes
// migrating a fresh file would both try to apply version 1, and the second
// would fail on "table already exists".
type migrateLocker struct {
	owner string // unique per Migrate call
}

var _ lock.Locker = migrateLocker{}

// Lock waits, polling every 50 ms, until it holds the lock or ctx is done.
func (l migrateLocker) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS pacer_migrate_lock (
			id         INTEGER PRIMARY KEY CHECK (id = 1),
			owner      TEXT    NOT NULL,
			expires_at INTEGER NOT NULL
		) STRICT`); err != nil {
		return fmt.Errorf("lock migrations: %w", mapErr(ctx, err))
	}
	for {
		now := time.Now()
		res, err := db.ExecContext(ctx, `
			INSERT INTO pacer_migrate_lock (id, owner, expires_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE pacer_migrate_lock.expires_at < ?`,
			l.owner, toDB(now.Add(migrateLease)), toDB(now))
		if err != nil {
			return fmt.Errorf("lock migrations: %w", mapErr(ctx, err))
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("lock migrations: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Unlock releases the lock if this locker still holds it.
func (l migrateLocker) Unlock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx,
		`DELETE FROM pacer_migrate_lock WHERE id = 1 AND owner = ?`, l.owner); err != nil {
		return fmt.Errorf("unlock migrations: %w", mapErr(ctx, err))
	}
	return nil
}

// newOwner returns a name for one Migrate call, unique across processes.
func newOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text())
}
