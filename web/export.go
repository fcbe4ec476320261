package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// exportPage is how many instances the export reads per query.
const exportPage = 5000

// exportInstances streams the annotation instances a job created as CSV
// (scope, item_key, annotator, created_at), in (item, annotator) order, a page
// at a time: a job of millions never sits in memory. An error after the first
// page is written can only cut the body short, so it is logged.
func (s *Server) exportInstances(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	lister := s.cfg.Reader
	if _, err := s.cfg.Jobs.Get(r.Context(), id); err != nil {
		s.pageFail(w, r, err)
		return
	}
	page, err := lister.ListInstances(r.Context(), id, "", "", exportPage)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="job-%d-instances.csv"`, id))
	cw := csv.NewWriter(w)
	cw.Write([]string{"scope", "item_key", "annotator", "created_at"})
	for len(page) > 0 {
		for _, in := range page {
			cw.Write([]string{csvCell(in.Scope), csvCell(in.Key), csvCell(in.Annotator), in.CreatedAt.UTC().Format(time.RFC3339Nano)})
		}
		if cw.Flush(); cw.Error() != nil {
			return // the client went away
		}
		if len(page) < exportPage {
			break
		}
		last := page[len(page)-1]
		page, err = lister.ListInstances(r.Context(), id, last.Key, last.Annotator, exportPage)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.cfg.Logger.ErrorContext(r.Context(), "instances export cut short", "job_id", id, "err", err)
			}
			return
		}
	}
}

// csvCell defuses a value a spreadsheet would run as a formula (it starts
// with =, +, -, @, a tab or a carriage return) by prefixing a quote, as
// OWASP advises: item keys come from upstreams, and exports are opened in
// spreadsheets.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
