// Package postgres is the distributed-mode [store.Store]: jobs, tasks, results
// and the quota ledger in PostgreSQL, shared by every pacer process that
// points at the same database. It owns the PostgreSQL schema and its embedded
// migrations (migrations/*.sql, applied with goose).
//
// It is the only pacer package that imports github.com/jmoiron/sqlx and
// github.com/lib/pq; it imports no pacer package but its parent, store. Driver
// errors stop here: sql.ErrNoRows becomes [store.ErrNotFound], a unique
// violation becomes [store.ErrConflict], and any other database error is
// returned as plain text that callers cannot unwrap into a driver type.
//
// The schema lives in the first schema of the connection's search_path, so a
// URL with search_path=name puts a whole pacer store into its own schema.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/pacerhq/pacer/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table. It has a pacer-specific name so
// that a database shared with another goose user keeps two histories apart.
const versionTable = "pacer_goose_db_version"

// Config configures [Open].
type Config struct {
	// URL is the PostgreSQL connection string, as a postgres:// URL or a
	// key=value DSN that lib/pq accepts. Required. Unknown URL parameters are
	// sent as run-time parameters, so search_path=name selects the schema.
	URL string
	// MaxOpenConns caps the connection pool. Zero means 10.
	MaxOpenConns int
	// Logger receives lifecycle messages (migrations applied). Nil discards
	// them.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.URL == "" {
		return errors.New("url is required")
	}
	if c.MaxOpenConns < 0 {
		return fmt.Errorf("max open conns %d is negative", c.MaxOpenConns)
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// DB is a PostgreSQL [store.Store]. Create it with [Open]; it is safe for
// concurrent use by multiple goroutines and by several processes sharing the
// database. The zero value is not usable.
type DB struct {
	db     *sqlx.DB
	logger *slog.Logger
}

var _ store.Store = (*DB)(nil)

// Open connects to PostgreSQL and checks that the server answers. It does not
// migrate: call [DB.Migrate] (pacer migrate) before using the store. Open
// returns an error if cfg is invalid or the server cannot be reached before
// ctx is done.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	connector, err := pq.NewConnector(cfg.URL)
	if err != nil {
		// lib/pq's parse errors may quote the DSN, password included.
		return nil, errors.New("open postgres store: invalid url")
	}
	sdb := sql.OpenDB(connector)
	sdb.SetMaxOpenConns(cfg.MaxOpenConns)
	sdb.SetMaxIdleConns(cfg.MaxOpenConns)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{db: sqlx.NewDb(sdb, "postgres"), logger: cfg.Logger}
	if err := db.db.PingContext(ctx); err != nil {
		err = mapErr(ctx, err)
		return nil, errors.Join(fmt.Errorf("open postgres store: %w", err), sdb.Close())
	}
	return db, nil
}

// Close closes the connection pool. Queries in progress finish first.
func (db *DB) Close() error {
	return db.db.Close()
}

// Migrate applies the embedded migrations that the schema lacks. Several
// processes may call it at once: a PostgreSQL session advisory lock, keyed by
// database and schema, lets one migrate while the others wait (up to ten
// minutes) and then find nothing left to do.
func (db *DB) Migrate(ctx context.Context) error {
	var name string
	if err := db.db.GetContext(ctx, &name,
		`SELECT current_database() || '.' || coalesce(current_schema(), '')`); err != nil {
		return fmt.Errorf("migrate: %w", mapErr(ctx, err))
	}
	// goose's default lock id is one per database; ours is one per schema,
	// so that stores in different schemas (tests, several tenants) migrate
	// in parallel instead of queueing behind one another.
	h := fnv.New64a()
	h.Write([]byte("pacer migrate " + name))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 600), // retry every second, for ten minutes
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.db.DB, fsys,
		goose.WithSessionLocker(locker),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Provider.Close would close db.db, which the store still owns.
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

// Ping checks that the server answers and that every embedded migration has
// been applied; it fails on a database that needs [DB.Migrate].
func (db *DB) Ping(ctx context.Context) error {
	want, err := latestVersion()
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	var exists bool
	if err := db.db.GetContext(ctx, &exists,
		`SELECT to_regclass($1) IS NOT NULL`, versionTable); err != nil {
		return fmt.Errorf("ping: %w", mapErr(ctx, err))
	}
	if !exists {
		return errors.New("ping: schema not migrated")
	}
	var got sql.NullInt64
	if err := db.db.GetContext(ctx, &got, `SELECT max(version_id) FROM `+versionTable); err != nil {
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

// withTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise. fn's error is returned as it is.
func (db *DB) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.db.BeginTxx(ctx, nil)
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
// the store sees database/sql or lib/pq: no rows is store.ErrNotFound, a
// unique violation is store.ErrConflict, a done ctx is ctx's error, and any
// other driver error keeps only its text. Errors that already are (or wrap)
// store sentinels pass unchanged.
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
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		if pqErr.Code == "23505" {
			return fmt.Errorf("%w: %s", store.ErrConflict, pqErr.Message)
		}
		return fmt.Errorf("postgres: %s (SQLSTATE %s)", pqErr.Message, pqErr.Code)
	}
	return errors.New(err.Error())
}
