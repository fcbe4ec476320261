// Package sqlite is the embedded-mode [store.Store]: jobs, tasks, results and
// the quota ledger in one SQLite file, through the pure-Go driver
// modernc.org/sqlite (no cgo). It owns the SQLite schema and its embedded
// migrations (migrations/*.sql, applied with goose).
//
// It uses database/sql directly. It must not import sqlx or lib/pq, which
// belong to store/postgres alone, nor any pacer package but its parent,
// store. Driver errors stop here: sql.ErrNoRows becomes [store.ErrNotFound],
// a unique or primary-key violation becomes [store.ErrConflict], and any
// other database error is returned as plain text.
//
// Times are stored as INTEGER microseconds since the Unix epoch, so that SQL
// compares and orders them correctly, and are returned as UTC.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pacerhq/pacer/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table, named as in store/postgres.
const versionTable = "pacer_goose_db_version"

// Config configures [Open].
type Config struct {
	// Path is the database file, created if missing. Required. It may not
	// be ":memory:" (every connection would get a database of its own) and
	// may not contain '?'.
	Path string
	// Logger receives lifecycle messages (migrations applied). Nil discards
	// them.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case c.Path == "":
		return errors.New("path is required")
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		return fmt.Errorf("path %q is not a file path", c.Path)
	case strings.ContainsRune(c.Path, '?'):
		return fmt.Errorf("path %q contains '?'", c.Path)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// DB is a SQLite [store.Store]. Create it with [Open]; it is safe for
// concurrent use by multiple goroutines, and several processes may share the
// file. The zero value is not usable.
type DB struct {
	// rdb serves reads (and goose, which needs two connections at once:
	// one to migrate on and one for its lock). In WAL mode readers never
	// wait for the writer.
	rdb *sql.DB
	// wdb serves every write, on a single connection: SQLite admits one
	// writer at a time anyway, and queueing writers in database/sql's pool
	// is fairer and faster than letting them spin in SQLite's busy handler.
	wdb    *sql.DB
	logger *slog.Logger
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the SQLite database at cfg.Path. It does
// not migrate: call [DB.Migrate] before using the store.
//
// Every connection is configured through the DSN:
//
//   - journal_mode=WAL: readers and the writer don't block each other, and a
//     commit appends to the log instead of rewriting pages.
//   - synchronous=NORMAL: with WAL, a commit survives a crash or SIGKILL of
//     the process; only a power loss can lose the last commits.
//   - foreign_keys=1: SQLite ignores REFERENCES clauses without it.
//   - busy_timeout=10000: a writer waits up to 10 s for another process's
//     write lock instead of failing with SQLITE_BUSY at once.
//   - _txlock=immediate: BEGIN takes the write lock at once. A default
//     (DEFERRED) transaction starts as a reader and upgrades on its first
//     write; if another connection wrote in between, the upgrade fails with
//     SQLITE_BUSY without consulting busy_timeout, because waiting could not
//     help a transaction whose snapshot is stale. Taking the lock up front
//     makes concurrent writers queue (and busy_timeout apply) instead, and
//     makes every read-check-write inside a transaction race-free.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	dsn := cfg.Path + "?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1"
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", mapErr(ctx, err))
	}
	wdb.SetMaxOpenConns(1)
	// The writer connection opens first, alone, so that it alone switches a
	// new file to WAL.
	if err := wdb.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite store %s: %w", cfg.Path, mapErr(ctx, err)), wdb.Close())
	}
	rdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite store: %w", mapErr(ctx, err)), wdb.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	if err := rdb.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite store %s: %w", cfg.Path, mapErr(ctx, err)), rdb.Close(), wdb.Close())
	}
	return &DB{rdb: rdb, wdb: wdb, logger: cfg.Logger}, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.rdb.Close(), db.wdb.Close())
}

// Migrate applies the embedded migrations that the file lacks. Several
// processes may call it at once: a lock row (see migrateLocker) lets one
// migrate while the others wait and then find nothing left to do.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.rdb, fsys,
		goose.WithLocker(migrateLocker{owner: newOwner()}),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Provider.Close would close db.rdb, which the store still owns.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", mapErr(ctx, err))
	}
	for _, r := range results {
		db.logger.InfoContext(ctx, "migration applied",
			slog.Int64("version", r.Source.Version), slog.Duration("duration", r.Duration))
	}
	return nil
}

// Ping checks that the database answers and that every embedded migration
// has been applied; it fails on a file that needs [DB.Migrate].
func (db *DB) Ping(ctx context.Context) error {
	want, err := latestVersion()
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	var exists int
	if err := db.rdb.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, versionTable).Scan(&exists); err != nil {
		return fmt.Errorf("ping: %w", mapErr(ctx, err))
	}
	if exists == 0 {
		return errors.New("ping: schema not migrated")
	}
	var got sql.NullInt64
	if err := db.rdb.QueryRowContext(ctx, `SELECT max(version_id) FROM `+versionTable).Scan(&got); err != nil {
		return fmt.Errorf("ping: %w", mapErr(ctx, err))
	}
	if got.Int64 != want {
		return fmt.Errorf("ping: schema at version %d, want %d: migrate first", got.Int64, want)
	}
	return nil
}

// latestVersion returns the highest version among the embedded migrations.
func latestVersion() (int64, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", name, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// withTx runs fn in a write transaction (BEGIN IMMEDIATE, on the writer
// connection), committing if fn returns nil and rolling back otherwise. fn's
// error is returned as it is. fn must use tx alone: the writer pool has one
// connection, which tx holds.
func (db *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error says more; the rollback error adds nothing
		return err
	}
	return tx.Commit()
}

// mapErr translates database errors into store errors so that nothing above
// the store sees database/sql or the driver: no rows is store.ErrNotFound, a
// unique or primary-key violation is store.ErrConflict, a done ctx is ctx's
// error, and any other driver error keeps only its text. Errors that already
// are (or wrap) store sentinels pass unchanged.
func mapErr(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, sqErr.Error())
		}
	}
	return errors.New(err.Error())
}

// Time columns hold microseconds since the Unix epoch, UTC.

func toDB(t time.Time) int64 { return t.UnixMicro() }

func fromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromDBNull(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromDB(v.Int64)
	return &t
}

// micro normalizes t as the store keeps it: UTC, truncated to the
// microsecond.
func micro(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
