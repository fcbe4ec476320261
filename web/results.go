package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pacerhq/pacer/store"
)

// resultsPage is how many results an export reads per query.
const resultsPage = 5000

// exportResults streams a job's results (filtered by ?status=) in key
// order as CSV (key, status, fetched_at, error, data) or JSON Lines (one
// ResultView a line), a keyset page at a time: a million rows never sit in
// memory. An error after the first page is written can only cut the body
// short, so it is logged.
func (s *Server) exportResults(w http.ResponseWriter, r *http.Request, format string) {
	id, err := pathID(r)
	var f store.ResultFilter
	if err == nil {
		f, err = resultFilter(r)
	}
	if err == nil {
		_, err = s.cfg.Jobs.Get(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.AfterKey, f.Limit = "", resultsPage
	page, err := s.cfg.Reader.ListResults(r.Context(), id, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	var write func(store.Result) error
	var flush func() error
	switch format {
	case "csv":
		h.Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		cw.Write([]string{"key", "status", "fetched_at", "error", "data"})
		write = func(res store.Result) error {
			return cw.Write([]string{csvCell(res.Key), string(res.Status), res.FetchedAt.UTC().Format(time.RFC3339Nano), csvCell(res.Error), csvCell(string(res.Data))})
		}
		flush = func() error { cw.Flush(); return cw.Error() }
	default:
		h.Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		write = func(res store.Result) error { return enc.Encode(viewResult(res)) }
		flush = func() error { return nil }
	}
	if !isAPI(r.URL.Path) {
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="job-%d-results.%s"`, id, format))
	}
	for len(page) > 0 {
		for _, res := range page {
			if err := write(res); err != nil {
				return // the client went away
			}
		}
		if err := flush(); err != nil {
			return
		}
		if len(page) < resultsPage {
			return
		}
		f.AfterKey = page[len(page)-1].Key
		if page, err = s.cfg.Reader.ListResults(r.Context(), id, f); err != nil {
			if !errors.Is(err, context.Canceled) {
				s.cfg.Logger.ErrorContext(r.Context(), "results export cut short", "job_id", id, "err", err)
			}
			return
		}
	}
}
