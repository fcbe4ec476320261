package main

import (
	"context"
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

// apiClient talks to a pacer server's JSON API, so that submit and status
// work against a remote pacer serve as well as a local pacer run.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(server string) (*apiClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-server: %q is not an http(s) URL such as http://127.0.0.1:8080", server)
	}
	return &apiClient{base: strings.TrimRight(server, "/"), http: &http.Client{}}, nil
}

// apiError is an error the server returned: field and reason, as it said.
type apiError struct {
	Status int
	Field  string
	Reason string
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Reason
	}
	return e.Reason
}

func (c *apiClient) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach pacer at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response of %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Field, Reason string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Reason != "" {
			return &apiError{Status: resp.StatusCode, Field: e.Error.Field, Reason: e.Error.Reason}
		}
		return &apiError{Status: resp.StatusCode, Reason: fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, resp.Status)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode response of %s: %w", req.URL.Path, err)
	}
	return nil
}

func (c *apiClient) job(ctx context.Context, id int64) (web.JobView, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/jobs/"+strconv.FormatInt(id, 10), nil)
	if err != nil {
		return web.JobView{}, err
	}
	var v web.JobView
	return v, c.do(req, &v)
}

func (c *apiClient) jobs(ctx context.Context, limit int) ([]web.JobView, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/jobs?limit="+strconv.Itoa(limit), nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Jobs []web.JobView `json:"jobs"`
	}
	return out.Jobs, c.do(req, &out)
}

// statusLine is one job in a line, as pacer status prints it.
func statusLine(v web.JobView) string {
	eta := "ETA unknown"
	if v.ETASeconds != nil {
		eta = "ETA " + (time.Duration(*v.ETASeconds) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("job %d  %s  %s  %.1f%%  %d/%d items, %d failed, %d requests, %.1f items/s, %s",
		v.ID, v.Kind, v.State, v.Progress*100, v.ItemsDone, v.ItemsTotal, v.ItemsFailed, v.Requests, v.Rate, eta)
	if v.RateLimitedUntil != nil {
		line += fmt.Sprintf("\n  rate-limited until %s (quota %s)", v.RateLimitedUntil.UTC().Format("15:04:05 UTC"), v.RateLimitedQuota)
	}
	if v.Summary != "" {
		line += "\n  " + v.Summary
	}
	return line
}
