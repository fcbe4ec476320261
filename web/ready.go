package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// ReadyHandler answers /readyz: 200 "ready" while ready returns nil within
// 5 s, and 503 "not ready" otherwise; a nil ready is always ready. The
// reason goes to the log, never to the wire, since it may name a host. An
// orchestrator probes every few seconds, so an outage logged at every probe
// would bury the log (82 lines in one 24/7 test restart): the handler logs
// at Warn when the process stops being ready, at Info when it is ready
// again, and each failed probe in between at Debug. It is safe for
// concurrent use.
func ReadyHandler(ready func(context.Context) error, log *slog.Logger) http.Handler {
	var (
		mu   sync.Mutex
		down bool
	)
	// changed records the outcome of a probe and reports whether it differs
	// from the one before.
	changed := func(failed bool) bool {
		mu.Lock()
		defer mu.Unlock()
		c := down != failed
		down = failed
		return c
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var err error
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			err = ready(ctx)
			cancel()
		}
		if err != nil {
			level := slog.LevelDebug
			if changed(true) {
				level = slog.LevelWarn
			}
			log.Log(r.Context(), level, "not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if changed(false) {
			log.InfoContext(r.Context(), "ready again")
		}
		fmt.Fprintln(w, "ready")
	})
}
