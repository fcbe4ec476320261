package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
	"github.com/pacerhq/pacer/web"
)

const adminToken = "s3cret-admin-token-for-tests"

func withToken(c *web.Config) { c.AdminToken = adminToken }

// bearer is the header pair of an API request with the admin token.
var bearer = []string{"Authorization", "Bearer " + adminToken}

// login logs in through the form and returns the session cookie's header
// value and the csrf value the pages carry.
func (e *env) login(t testing.TB) (cookie, csrf string) {
	t.Helper()
	form := url.Values{"token": {adminToken}, "next": {"/jobs/new"}}
	resp, body := e.do(t, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/new" {
		t.Fatalf("login: %s %s", resp.Status, body)
	}
	var c *http.Cookie
	for _, rc := range resp.Cookies() {
		if rc.Name == "pacer_session" {
			c = rc
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", c)
	}
	cookie = "pacer_session=" + c.Value
	_, page := e.do(t, "GET", "/jobs/new", "", nil, "Cookie", cookie)
	return cookie, csrfOf(t, page)
}

var csrfField = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", page)
	}
	return m[1]
}

func TestAPIWantsTheBearerToken(t *testing.T) {
	e := newEnv(t, withToken)
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", adminToken}, {"Authorization", "Basic " + adminToken}} {
		for _, path := range []string{"/api/v1/jobs", "/api/v1/credentials/retired", "/api/v1/openapi.json"} {
			resp, body := e.do(t, "GET", path, "", nil, h...)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
				!strings.Contains(body, `"field":"Authorization"`) {
				t.Fatalf("GET %s with %q: %s %v %s", path, h, resp.Status, resp.Header, body)
			}
		}
	}
	resp, body := e.do(t, "POST", "/api/v1/jobs", "application/json", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1"]}`))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("submit without a token: %s %s", resp.Status, body)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatal("a request without the token created a job")
	}
	if resp, body := e.do(t, "GET", "/api/v1/jobs", "", nil, bearer...); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the token: %s %s", resp.Status, body)
	}
	// Health, readiness, metrics and the static files stay open.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/static/pacer.css", "/static/pacer.js", "/login"} {
		if resp, _ := e.do(t, "GET", path, "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %s", path, resp.Status)
		}
	}
}

func TestPagesWantALogin(t *testing.T) {
	e := newEnv(t, withToken)
	for _, path := range []string{"/", "/jobs/new", "/jobs/1?after=a&status=ok", "/events", "/jobs/1/results.csv"} {
		resp, _ := e.do(t, "GET", path, "", nil)
		if want := "/login?next=" + url.QueryEscape(path); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %s to %q, want 303 to %q", path, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	resp, body := e.do(t, "GET", "/login?next=%2Fjobs%2Fnew", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<form id="login"`) || !strings.Contains(body, `name="token"`) || !strings.Contains(body, `name="next" value="/jobs/new"`) {
		t.Fatalf("login page: %s\n%s", resp.Status, body)
	}
	form := url.Values{"token": {"guess"}, "next": {"/jobs/new"}}
	resp, body = e.do(t, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `class="field-error" data-field="token"`) || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %s %v\n%s", resp.Status, resp.Cookies(), body)
	}
	cookie, _ := e.login(t)
	if resp, body := e.do(t, "GET", "/", "", nil, "Cookie", cookie); resp.StatusCode != 200 || !strings.Contains(body, `<form id="logout"`) {
		t.Fatalf("jobs page after login: %s\n%s", resp.Status, body)
	}
	for _, bad := range []string{"pacer_session=v1.x.9999999999.y", cookie + "x", strings.Replace(cookie, ".", ".A", 1)} {
		if resp, _ := e.do(t, "GET", "/", "", nil, "Cookie", bad); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("forged cookie %q: %s", bad, resp.Status)
		}
	}
	resp, _ = e.do(t, "POST", "/logout", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"csrf": {"wrong"}}.Encode()), "Cookie", cookie)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a wrong csrf: %s", resp.Status)
	}
}

func TestLoginRedirectsOnlyToLocalPaths(t *testing.T) {
	e := newEnv(t, withToken)
	for next, want := range map[string]string{
		"/jobs/3?status=ok": "/jobs/3?status=ok", "//evil.example/x": "/", "https://evil.example/": "/",
		`/\evil.example`: "/", "javascript:alert(1)": "/", "": "/", "jobs": "/",
	} {
		form := url.Values{"token": {adminToken}, "next": {next}}
		resp, _ := e.do(t, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("next=%q: %s to %q, want %q", next, resp.Status, resp.Header.Get("Location"), want)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	now := time.Now()
	e := newEnv(t, withToken, func(c *web.Config) {
		c.SessionTTL = time.Hour
		c.NowFunc = func() time.Time { return now }
	})
	cookie, _ := e.login(t)
	if resp, _ := e.do(t, "GET", "/", "", nil, "Cookie", cookie); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %s", resp.Status)
	}
	now = now.Add(time.Hour + time.Second)
	if resp, _ := e.do(t, "GET", "/", "", nil, "Cookie", cookie); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expired session: %s", resp.Status)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t, withToken)
	srv := httptest.NewTLSServer(e.handler)
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(srv.URL+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("cookies over TLS: %+v", c)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over TLS")
	}
	// Behind a reverse proxy that ends TLS (as the README advises), the
	// request arrives over plain HTTP with X-Forwarded-Proto: https.
	form := url.Values{"token": {adminToken}}
	resp, _ = e.do(t, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), "X-Forwarded-Proto", "https")
	if c := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("cookies behind a TLS proxy: %s %+v", resp.Status, c)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS behind a TLS proxy")
	}
	cookie := "pacer_session=" + resp.Cookies()[0].Value
	_, page := e.do(t, "GET", "/", "", nil, "Cookie", cookie, "X-Forwarded-Proto", "https")
	resp, _ = e.do(t, "POST", "/logout", "application/x-www-form-urlencoded", strings.NewReader("csrf="+url.QueryEscape(csrfOf(t, page))),
		"Cookie", cookie, "X-Forwarded-Proto", "https")
	if c := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure || c[0].MaxAge >= 0 {
		t.Fatalf("logout behind a TLS proxy: %s %+v", resp.Status, c)
	}
}

// Every page POST needs the session's csrf value: a missing or wrong one
// gets 403 and changes nothing.
func TestFormsWantTheCSRFValue(t *testing.T) {
	e := newEnv(t, withToken)
	cookie, csrf := e.login(t)
	submit := func(form url.Values) *http.Response {
		resp, _ := e.do(t, "POST", "/jobs", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), "Cookie", cookie)
		return resp
	}
	base := url.Values{"kind": {"tweet_lookup"}, "credential": {"demo"}, "ids": {"9"}}
	if resp := submit(base); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no csrf: %s", resp.Status)
	}
	bad := url.Values{"csrf": {csrf + "x"}}
	for k, v := range base {
		bad[k] = v
	}
	if resp := submit(bad); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong csrf: %s", resp.Status)
	}
	multi := func(fields ...string) *http.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		fw, _ := mw.CreateFormFile("ids_file", "ids.txt")
		io.WriteString(fw, "7\n8\n")
		mw.Close()
		resp, _ := e.do(t, "POST", "/jobs", mw.FormDataContentType(), &buf, "Cookie", cookie)
		return resp
	}
	if resp := multi("kind", "tweet_lookup", "credential", "demo", "csrf", csrf); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("multipart with csrf not first: %s", resp.Status)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatalf("a refused form created %d jobs", len(list))
	}
	if resp := multi("csrf", csrf, "kind", "tweet_lookup", "credential", "demo"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("multipart with csrf first: %s", resp.Status)
	}
	good := url.Values{"csrf": {csrf}}
	for k, v := range base {
		good[k] = v
	}
	if resp := submit(good); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the csrf value: %s", resp.Status)
	}
	// Buttons too.
	resp, _ := e.do(t, "POST", "/jobs/1/cancel", "application/x-www-form-urlencoded", strings.NewReader(""), "Cookie", cookie)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cancel without csrf: %s", resp.Status)
	}
	if j, _ := e.store.GetJob(t.Context(), 1); j.State == store.JobCancelled {
		t.Fatal("a cancel without csrf cancelled the job")
	}
	resp, _ = e.do(t, "POST", "/jobs/1/cancel", "application/x-www-form-urlencoded", strings.NewReader("csrf="+url.QueryEscape(csrf)), "Cookie", cookie)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel with csrf: %s", resp.Status)
	}
	// Every form on the pages carries the field.
	for _, path := range []string{"/", "/jobs/new", "/jobs/2"} {
		_, page := e.do(t, "GET", path, "", nil, "Cookie", cookie)
		forms := strings.Count(page, `method="post"`)
		if n := strings.Count(page, `name="csrf" value="`+csrf+`"`); n != forms || forms == 0 {
			t.Errorf("%s: %d POST forms, %d csrf fields", path, forms, n)
		}
	}
	resp, _ = e.do(t, "POST", "/logout", "application/x-www-form-urlencoded", strings.NewReader("csrf="+url.QueryEscape(csrf)), "Cookie", cookie)
	if c := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("logout: %s %+v", resp.Status, c)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t, withToken)
	cookie, csrf := e.login(t)
	big := "csrf=" + url.QueryEscape(csrf) + "&pad=" + strings.Repeat("x", 1<<20)
	resp, body := e.do(t, "POST", "/jobs/1/cancel", "application/x-www-form-urlencoded", strings.NewReader(big), "Cookie", cookie)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1048576-byte limit") {
		t.Fatalf("oversized form: %s\n%s", resp.Status, body)
	}
	resp, body = e.do(t, "POST", "/api/v1/jobs/1/cancel", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20)), bearer...)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"reason":"the request body is larger than the 1048576-byte limit"`) {
		t.Fatalf("oversized API body: %s %s", resp.Status, body)
	}
	// An upload over MaxUploadBytes (1 MiB here), streamed without a length.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrf)
	mw.WriteField("kind", "tweet_lookup")
	mw.WriteField("credential", "demo")
	fw, _ := mw.CreateFormFile("ids_file", "ids.txt")
	for i := range 200_000 {
		io.WriteString(fw, strings.Repeat("1", 5)+string(rune('0'+i%10))+"\n")
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.server.URL+"/jobs", io.MultiReader(&buf)) // no Content-Length
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", cookie)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "1048576-byte limit") || !strings.Contains(string(b), `data-field="ids"`) {
		t.Fatalf("oversized upload: %s\n%s", r.Status, b)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatal("an oversized upload left a job behind")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/api/v1/jobs", "/login", "/static/pacer.js", "/jobs/1/results.csv", "/no-such-page"} {
		resp, _ := e.do(t, "GET", path, "", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if cc := resp.Header.Get("Cache-Control"); (cc == "no-store") == strings.HasPrefix(path, "/static/") {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
	}
	// No inline script or style in any page: the policy would block it.
	_, page := e.do(t, "GET", "/jobs/new", "", nil)
	if m := regexp.MustCompile(`<script>|<style|style=| on[a-z]+=`).FindString(page); m != "" {
		t.Errorf("the new-job page has inline %q", m)
	}
}

// Wrong tokens are limited per client, the login form and the API alike: a
// burst of them, then 429 with Retry-After, whatever the token, until the
// allowance refills. A client elsewhere is not held up.
func TestWrongTokensAreThrottled(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	e := newEnv(t, withToken, func(c *web.Config) {
		c.NowFunc = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	login := func(token string) (*http.Response, string) {
		form := url.Values{"token": {token}, "next": {"/"}}
		return e.do(t, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	}
	for i := range 9 {
		if resp, _ := login(fmt.Sprintf("guess-%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %s", i+1, resp.Status)
		}
	}
	// A request without a token tells nothing of the token and costs nothing.
	for range 20 {
		if resp, _ := e.do(t, "GET", "/api/v1/jobs", "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no token: %s", resp.Status)
		}
	}
	if resp, body := e.do(t, "GET", "/api/v1/jobs", "", nil, "Authorization", "Bearer guess-api"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tenth wrong token, by the API: %s %s", resp.Status, body)
	}
	resp, body := login("guess-11")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "6" ||
		!strings.Contains(body, `class="field-error" data-field="token"`) || !strings.Contains(body, "too many wrong tokens") {
		t.Fatalf("eleventh wrong token: %s %v\n%s", resp.Status, resp.Header, body)
	}
	// The right token is refused too while the allowance is spent: a 429
	// says nothing about the token.
	if resp, _ := login(adminToken); resp.StatusCode != http.StatusTooManyRequests || len(resp.Cookies()) != 0 {
		t.Fatalf("right token while throttled: %s %v", resp.Status, resp.Cookies())
	}
	resp, body = e.do(t, "GET", "/api/v1/jobs", "", nil, bearer...)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, `"field":"Authorization","reason":"too many wrong tokens`) {
		t.Fatalf("API while throttled: %s %v %s", resp.Status, resp.Header, body)
	}
	// Another client is not held up.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/jobs", nil)
	req.RemoteAddr = "192.0.2.7:4000"
	req.Header.Set("Authorization", "Bearer guess-elsewhere")
	if e.handler.ServeHTTP(rec, req); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a wrong token from another client: %d %s", rec.Code, rec.Body)
	}
	// One attempt refills every 6 seconds; a right token keeps it.
	clock.Add(int64(6 * time.Second))
	if resp, _ := login(adminToken); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right token after the wait: %s", resp.Status)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/jobs", "", nil, bearer...); resp.StatusCode != http.StatusOK {
		t.Fatalf("right API token after the wait: %s", resp.Status)
	}
	if resp, _ := login("guess-12"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token after the wait: %s", resp.Status)
	}
	if resp, _ := login("guess-13"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second wrong token after the wait: %s", resp.Status)
	}
}

// Without an admin token, only requests addressed to localhost or a
// loopback address are served: a page that reaches pacer by DNS rebinding
// (a name of its own that resolves to 127.0.0.1) sends its own name as
// Host, and its requests look same-origin to the browser.
func TestNoTokenServesLoopbackHostsOnly(t *testing.T) {
	e := newEnv(t)
	serve := func(h http.Handler, method, path, host string, body io.Reader) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, body)
		req.Host = host
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.1.2.3", ""} {
		if rec := serve(e.handler, "GET", "/", host, nil); rec.Code != http.StatusOK {
			t.Errorf("Host %q: %d", host, rec.Code)
		}
	}
	for _, host := range []string{"rebind.example:8080", "rebind.example", "localhost.rebind.example", "10.0.0.1:8080", "[2001:db8::1]:8080", "127.0.0.1.rebind.example"} {
		if rec := serve(e.handler, "GET", "/jobs/new", host, nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "loopback") {
			t.Errorf("page with Host %q: %d\n%s", host, rec.Code, rec.Body)
		}
		if rec := serve(e.handler, "GET", "/healthz", host, nil); rec.Code != http.StatusOK {
			t.Errorf("/healthz with Host %q: %d", host, rec.Code)
		}
	}
	rec := serve(e.handler, "POST", "/api/v1/jobs", "rebind.example:8080", strings.NewReader(`{"kind":"tweet_lookup","credential":"demo","ids":["1"]}`))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"field":"Host"`) {
		t.Fatalf("API submit with a foreign Host: %d %s", rec.Code, rec.Body)
	}
	if list, _ := e.store.ListJobs(t.Context(), store.JobFilter{}); len(list) != 0 {
		t.Fatal("a request with a foreign Host created a job")
	}
	// With a token, any name may be served: the token is the control.
	withTok := newEnv(t, withToken)
	if rec := serve(withTok.handler, "GET", "/api/v1/jobs", "pacer.example", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("with a token, a foreign Host: %d %s", rec.Code, rec.Body)
	}
}

// Dot segments, doubled or encoded slashes, other methods and trailing
// slashes reach no page and no API answer without the token: the mux
// redirects an unclean path before any handler runs, and matches encoded
// slashes as they are, so the guard and the mux read the same path.
func TestPathTricksNeedTheToken(t *testing.T) {
	e := newEnv(t, withToken)
	srv := httptest.NewServer(e.handler) // raw paths, past the OpenAPI validator
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	paths := []string{"/api/v1/../api/v1/jobs", "/static/..%2fapi/v1/jobs", "/static/../jobs/1", "/static/%2e%2e/jobs/new",
		"//api/v1/jobs", "/api/v1//jobs", "/api%2Fv1/jobs", "/./jobs/new", "/healthz/../jobs/new", "/login/../jobs/new",
		"/static/..%2f..%2fjobs/new", "/login/", "/metrics/", "/api/v1/", "/jobs/1/../../api/v1/jobs", "/API/v1/jobs",
		"/jobs/new%00", "/static/%00/../jobs/new", "/jobs/1/cancel/", "/static/..;/jobs/new",
		// and the plain paths they aim at
		"/jobs/new", "/api/v1/jobs", "/jobs/1/cancel", "/api/v1/jobs/1/cancel", "/jobs/1/results.csv", "/"}
	for _, method := range []string{"GET", "HEAD", "POST", "OPTIONS", "CONNECT", "DELETE"} {
		for _, path := range paths {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path, addr)
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			c.Close()
			if resp.StatusCode < 300 {
				t.Errorf("%s %s without the token: %s\n%.200s", method, path, resp.Status, body)
			}
			if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && !strings.HasPrefix(loc, "/") {
				t.Errorf("%s %s: redirect to %q", method, path, loc)
			}
		}
	}
}
