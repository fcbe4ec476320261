package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/web"
)

// readiness is what /readyz asks of serve and of work alike: the store
// answers with every migration applied, and the broker (when there is one
// that can tell) is connected. A worker that cannot reach either takes no
// work, so an orchestrator should not count it as ready.
func readiness(s store.Store, b broker.Broker) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := s.Ping(ctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if p, ok := b.(interface{ Ping(context.Context) error }); ok {
			if err := p.Ping(ctx); err != nil {
				return fmt.Errorf("broker: %w", err)
			}
		}
		return nil
	}
}

// addHealth serves a worker's /healthz (the process is alive) and /readyz
// (ready says it can work) on mux, beside its /metrics.
func addHealth(mux *http.ServeMux, ready func(context.Context) error, log *slog.Logger) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /readyz", web.ReadyHandler(ready, log))
}
