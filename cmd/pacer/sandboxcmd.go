package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/sandbox"
)

// demoIDBase is where the demo's tweet ids start: a real-looking snowflake
// id from November 2021.
const demoIDBase = 1460323737035677698

// cmdSandbox serves the stand-in X API v2 upstream, or with "ids N" prints N
// demo tweet ids.
func cmdSandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "ids" {
		return printDemoIDs(args[1:], stdout)
	}
	var listen, quota, tokens string
	var missing int
	f := newFlagSet("sandbox", "sandbox [flags] | sandbox ids N", getenv, stderr)
	f.String(&listen, "listen", "127.0.0.1:8081", "address to serve the sandbox on")
	f.String(&quota, "quota", "900/15m", "requests per window per bearer token, or \"none\"")
	f.String(&tokens, "tokens", "", "comma-separated bearer tokens to accept; empty accepts any")
	f.Int(&missing, "missing-percent", 5, "share of ids reported missing (deleted or protected), 0 to 100")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg := sandbox.Config{MissingPercent: missing}
	if quota != "none" {
		limit, window, err := ratelimit.ParseLimit(quota)
		if err != nil {
			return fmt.Errorf("-quota: %w", err)
		}
		cfg.Limit, cfg.Window = limit, window
	}
	if tokens != "" {
		cfg.Tokens = strings.Split(tokens, ",")
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "sandbox listening on http://%s (quota %s; stats at /sandbox/stats)\n", ln.Addr(), quota)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printDemoIDs(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("sandbox ids: want one argument, the number of ids")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 10_000_000 {
		return fmt.Errorf("sandbox ids: %q is not a number from 1 to 10000000", args[0])
	}
	w := make([]byte, 0, 64<<10)
	for i := range n {
		w = strconv.AppendUint(w, demoIDBase+uint64(i), 10)
		w = append(w, '\n')
		if len(w) > 60<<10 {
			if _, err := stdout.Write(w); err != nil {
				return err
			}
			w = w[:0]
		}
	}
	_, err = stdout.Write(w)
	return err
}
