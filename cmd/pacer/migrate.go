package main

import (
	"context"
	"fmt"
	"io"
)

// cmdMigrate applies the store's migrations and exits.
func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	f := newFlagSet("migrate", "migrate [flags]", getenv, stderr)
	o.storeFlags(f, "sqlite:pacer.db")
	if err := f.parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, o.logLevel, "text")
	if err != nil {
		return err
	}
	s, err := openStore(ctx, o.databaseURL, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return s.Close()
}
