package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/web"
)

// cmdExport writes a job's results to stdout as CSV or JSON Lines, in key
// order, reading the API's paged results a page at a time.
func cmdExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cf             clientFlags
		format, status string
		pageSize       int
	)
	f := newFlagSet("export", "export [flags] JOB_ID", getenv, stderr)
	cf.register(f)
	f.String(&format, "format", "csv", "csv (key, status, fetched_at, error, data) or jsonl (the API's result objects, one a line)")
	f.String(&status, "status", "", "only results with this status (ok, not_found)")
	f.Int(&pageSize, "page-size", 5000, "results per API request, 1 to 10000: one page is all export holds, so a job of a million rows streams through")
	if err := f.parse(args); err != nil {
		return err
	}
	if pageSize < 1 || pageSize > 10000 {
		return fmt.Errorf("-page-size: %d is not from 1 to 10000", pageSize)
	}
	id, err := jobIDArg(f.args())
	if err != nil {
		return err
	}
	var w resultWriter
	switch format {
	case "csv":
		w = newCSVResults(stdout)
	case "jsonl":
		w = jsonlResults{json.NewEncoder(stdout)}
	default:
		return fmt.Errorf("-format: %q is not csv or jsonl", format)
	}
	client, err := cf.client(getenv)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if status != "" {
		q.Set("status", status)
	}
	for {
		var page struct {
			Results []web.ResultView `json:"results"`
			Next    string           `json:"next"`
		}
		if err := client.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/results?%s", id, q.Encode()), &page); err != nil {
			return fmt.Errorf("export job %d: %w", id, err)
		}
		for _, r := range page.Results {
			if err := w.write(r); err != nil {
				return fmt.Errorf("export job %d: write: %w", id, err)
			}
		}
		if err := w.flush(); err != nil {
			return fmt.Errorf("export job %d: write: %w", id, err)
		}
		if page.Next == "" {
			return nil
		}
		q.Set("after", page.Next)
	}
}

// resultWriter writes results in one export format.
type resultWriter interface {
	write(web.ResultView) error
	flush() error
}

type jsonlResults struct{ enc *json.Encoder }

func (j jsonlResults) write(r web.ResultView) error { return j.enc.Encode(r) }
func (j jsonlResults) flush() error                 { return nil }

// csvResults writes the header before the first row, so an export of no
// results is the header alone.
type csvResults struct {
	w *csv.Writer
}

func newCSVResults(out io.Writer) *csvResults {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"key", "status", "fetched_at", "error", "data"})
	return &csvResults{w: w}
}

func (c *csvResults) write(r web.ResultView) error {
	return c.w.Write([]string{spreadsheetSafe(r.Key), string(r.Status), r.FetchedAt.UTC().Format(time.RFC3339Nano),
		spreadsheetSafe(r.Error), spreadsheetSafe(string(r.Data))})
}

func (c *csvResults) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// spreadsheetSafe defuses a value a spreadsheet would run as a formula (it
// starts with =, +, -, @, a tab or a carriage return) with a leading quote,
// as OWASP advises: keys, errors and data come from upstreams, and CSV
// exports are opened in spreadsheets.
func spreadsheetSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
