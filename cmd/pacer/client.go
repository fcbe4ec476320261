package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/web"
)

// apiClient talks to a pacer server's JSON API, so that submit and status
// work against a remote pacer serve as well as a local pacer run.
type apiClient struct {
	base  string
	token string // the admin token, sent as Authorization: Bearer; empty sends none
	http  *http.Client
}

func newAPIClient(server, token string) (*apiClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-server: %q is not an http(s) URL such as http://127.0.0.1:8080", server)
	}
	return &apiClient{base: strings.TrimRight(server, "/"), token: token, http: &http.Client{}}, nil
}

// clientFlags are the flags every command that talks to a pacer server
// shares: where it is, and where the admin token is.
type clientFlags struct {
	server    string
	tokenFile string
}

func (c *clientFlags) register(f *flagSet) {
	f.String(&c.server, "server", "http://127.0.0.1:8080", "the pacer server (pacer run or pacer serve)")
	f.String(&c.tokenFile, "token-file", "", "file holding the server's admin token; without it, the token is read from PACER_ADMIN_TOKEN (never a flag: flags show in ps)")
}

// client returns a client for the server, with the admin token read from
// -token-file or, without it, from PACER_ADMIN_TOKEN.
func (c *clientFlags) client(getenv func(string) string) (*apiClient, error) {
	token := getenv("PACER_ADMIN_TOKEN")
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("-token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("-token-file: %s is empty", c.tokenFile)
		}
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errors.New("admin token: holds a line break")
	}
	return newAPIClient(c.server, token)
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

// send sends req with the admin token and returns the response if its
// status is below 300; otherwise it closes the body and returns an
// *apiError with the server's field and reason.
func (c *apiClient) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach pacer at %s: %w", c.base, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error struct{ Field, Reason string } `json:"error"`
	}
	ae := &apiError{Status: resp.StatusCode, Reason: fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, resp.Status)}
	if json.Unmarshal(body, &e) == nil && e.Error.Reason != "" {
		ae.Field, ae.Reason = e.Error.Field, e.Error.Reason
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if c.token == "" {
			ae.Reason += " (no admin token: set PACER_ADMIN_TOKEN or -token-file)"
		} else {
			ae.Reason += " (the server refused the admin token)"
		}
	}
	return nil, ae
}

func (c *apiClient) do(req *http.Request, out any) error {
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response of %s: %w", req.URL.Path, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode response of %s: %w", req.URL.Path, err)
	}
	return nil
}

// call sends a request without a body to path and decodes the JSON answer
// into out (nil to discard it).
func (c *apiClient) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

func (c *apiClient) job(ctx context.Context, id int64) (web.JobView, error) {
	var v web.JobView
	return v, c.call(ctx, http.MethodGet, "/api/v1/jobs/"+strconv.FormatInt(id, 10), &v)
}

// jobs lists jobs newest first; q holds the API's filters (state, kind,
// before, limit).
func (c *apiClient) jobs(ctx context.Context, q url.Values) ([]web.JobView, error) {
	var out struct {
		Jobs []web.JobView `json:"jobs"`
	}
	return out.Jobs, c.call(ctx, http.MethodGet, "/api/v1/jobs?"+q.Encode(), &out)
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
