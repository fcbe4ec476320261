package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer/jobs"
)

// sessionCookie is the name of the page session's cookie.
const sessionCookie = "pacer_session"

// maxFormBytes caps the body of every request but a submission: a login, a
// button, a small form.
const maxFormBytes = 1 << 20

// csrfPrefixBytes is how much of a multipart body is read to find its csrf
// field, which must be the body's first part.
const csrfPrefixBytes = 8 << 10

// session is a logged-in browser: a random nonce, signed with a key derived
// from the admin token, and the csrf value every form of it carries.
type session struct {
	nonce string
	csrf  string
	until time.Time // when the login ends
}

type sessionKey struct{}

// sessionFrom returns the session the auth middleware found, if any.
func sessionFrom(ctx context.Context) (session, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s, ok
}

// csrfValue is the csrf value of r's session: "" when there is no access
// control (and so no session).
func csrfValue(r *http.Request) string {
	s, _ := sessionFrom(r.Context())
	return s.csrf
}

// auth holds what access control needs: the admin token and the key that
// signs sessions. A zero auth (no token) lets everything through.
type auth struct {
	token []byte
	key   []byte // HMAC key for sessions and csrf values
	ttl   time.Duration
	now   func() time.Time
}

func newAuth(token string, ttl time.Duration, now func() time.Time) auth {
	if token == "" {
		return auth{}
	}
	// The key is derived from the token, so sessions outlive a restart and
	// die when the token changes.
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("pacer session key v1"))
	return auth{token: []byte(token), key: mac.Sum(nil), ttl: ttl, now: now}
}

func (a auth) enabled() bool { return len(a.token) > 0 }

func (a auth) sign(parts ...string) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tokenOK compares a presented token with the admin token in constant time.
func (a auth) tokenOK(presented string) bool {
	// Hash both so that the comparison's time does not depend on the
	// lengths either.
	x, y := sha256.Sum256([]byte(presented)), sha256.Sum256(a.token)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// checkToken compares a token a client presented with the admin token,
// within the client's allowance of wrong ones (see attempts): a
// *throttledError when that is spent, errUnauthorized when the token is
// wrong or missing. A missing token takes nothing from the allowance.
func (s *Server) checkToken(r *http.Request, presented, field string) error {
	if presented == "" {
		return errUnauthorized
	}
	client := clientOf(r)
	if wait := s.attempts.take(client); wait > 0 {
		return &throttledError{field: field, wait: wait}
	}
	if !s.auth.tokenOK(presented) {
		return errUnauthorized
	}
	s.attempts.giveBack(client)
	return nil
}

// newSession returns a fresh session's cookie value and its session.
func (a auth) newSession() (string, session) {
	var b [18]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	until := a.now().Add(a.ttl).Unix()
	exp := strconv.FormatInt(until, 10)
	return "v1." + nonce + "." + exp + "." + a.sign("session", nonce, exp), session{nonce: nonce, csrf: a.sign("csrf", nonce), until: time.Unix(until, 0)}
}

// parseSession checks a cookie value's signature and expiry.
func (a auth) parseSession(v string) (session, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return session{}, false
	}
	nonce, exp, mac := parts[1], parts[2], parts[3]
	if !hmac.Equal([]byte(mac), []byte(a.sign("session", nonce, exp))) {
		return session{}, false
	}
	until, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || a.now().Unix() >= until {
		return session{}, false
	}
	return session{nonce: nonce, csrf: a.sign("csrf", nonce), until: time.Unix(until, 0)}, true
}

// openPath reports whether path needs no login: health, readiness,
// metrics (which carry no per-job data), the login page and the static
// files.
func openPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/login":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

func isAPI(path string) bool { return path == "/api/v1" || strings.HasPrefix(path, "/api/v1/") }

// uploadPath reports whether a POST to path is a submission, whose body may
// be as large as MaxUploadBytes; every other body is capped at maxFormBytes.
func uploadPath(path string) bool {
	return path == "/jobs" || path == "/jobs/estimate" || path == "/api/v1/jobs" || path == "/api/v1/jobs/estimate"
}

// guard is the access-control middleware: the body limit, the Bearer token
// for the API, the session cookie and the csrf field for the pages.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxFormBytes)
		if uploadPath(r.URL.Path) {
			limit = s.cfg.MaxUploadBytes
		}
		if r.ContentLength > limit {
			var err error = &http.MaxBytesError{Limit: limit}
			if uploadPath(r.URL.Path) {
				err = uploadError(err) // names the ids, as a body cut short does
			}
			s.fail(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if !s.auth.enabled() && !openPath(r.URL.Path) && !loopbackHost(r.Host) {
			s.fail(w, r, errForeignHost)
			return
		}
		if !s.auth.enabled() {
			next.ServeHTTP(w, r)
			return
		}
		// Until the client shows the token or a session, its body must
		// arrive in time: the login form's, or the rest of a refused
		// request's, which the server reads before it reuses the
		// connection. Else a client with no token holds a connection for
		// ever by sending a byte now and then.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(s.anonReadTimeout))
		if openPath(r.URL.Path) {
			if r.URL.Path != "/login" {
				_ = rc.SetReadDeadline(time.Time{})
			}
			next.ServeHTTP(w, r)
			return
		}
		if isAPI(r.URL.Path) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				tok = "" // another scheme, or a bare token: no token
			}
			if err := s.checkToken(r, strings.TrimSpace(tok), "Authorization"); err != nil {
				var th *throttledError
				if errors.As(err, &th) {
					w.Header().Set("Retry-After", th.retryAfter())
				} else {
					w.Header().Set("WWW-Authenticate", `Bearer realm="pacer"`)
				}
				s.apiFail(w, r, err)
				return
			}
			_ = rc.SetReadDeadline(time.Time{})
			next.ServeHTTP(w, r)
			return
		}
		var sess session
		c, err := r.Cookie(sessionCookie)
		if err == nil {
			var ok bool
			sess, ok = s.auth.parseSession(c.Value)
			err = errUnauthorized
			if ok {
				err = nil
			}
		}
		if err != nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		_ = rc.SetReadDeadline(time.Time{})
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := checkCSRF(r, sess.csrf); err != nil {
				s.pageFail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

var (
	errUnauthorized = errors.New("unauthorized")
	errCSRF         = errors.New("bad csrf")
	errForeignHost  = errors.New("foreign host")
)

// loopbackHost reports whether a request's Host names this machine:
// localhost or a loopback address, with or without a port. Without an admin
// token pacer listens on loopback only, but a web page a local user opens
// can still reach it by DNS rebinding (a name of the attacker's that
// resolves to 127.0.0.1): its requests are same-origin to the browser and
// pass http.CrossOriginProtection, yet carry the attacker's name as Host.
// An empty Host (HTTP/1.0) comes from no browser.
func loopbackHost(host string) bool {
	if host == "" {
		return true
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1] // [::1] without a port
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// checkCSRF finds the form's csrf field and compares it with want. A
// URL-encoded body is parsed whole (it is at most maxFormBytes); in a
// multipart body the csrf field must be the first part, so that a large
// upload after it is still streamed by the handler.
func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch mediaType {
		case "application/x-www-form-urlencoded":
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return tooBig
				}
				return jobs.Invalid("body", "%v", err)
			}
			got = r.PostForm.Get("csrf")
		case "multipart/form-data":
			v, err := firstPart(r, params["boundary"])
			if err != nil {
				return err
			}
			got = v
		}
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errCSRF
	}
	return nil
}

// firstPart reads the csrf field from the start of a multipart body and
// puts the bytes it read back in front of the rest.
func firstPart(r *http.Request, boundary string) (string, error) {
	br := bufio.NewReaderSize(r.Body, csrfPrefixBytes)
	prefix, err := br.Peek(csrfPrefixBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", tooBig
		}
		return "", jobs.Invalid("body", "unreadable: %v", err)
	}
	prefix = bytes.Clone(prefix)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	part, err := multipart.NewReader(bytes.NewReader(prefix), boundary).NextPart()
	if err != nil || part.FormName() != "csrf" {
		return "", errCSRF
	}
	v, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return "", errCSRF
	}
	return string(v), nil
}

// safeNext returns next if it is a path on this server, else "/": the login
// form must not redirect anywhere else (an open redirect).
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if !s.auth.enabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login.html", map[string]any{"Title": "Log in", "Next": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) formLogin(w http.ResponseWriter, r *http.Request) {
	if !s.auth.enabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.pageFail(w, r, bodyError(err))
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if err := s.checkToken(r, r.PostForm.Get("token"), "token"); err != nil {
		status, ve := http.StatusUnauthorized, &jobs.ValidationError{Field: "token", Reason: "not the admin token"}
		var th *throttledError
		if errors.As(err, &th) {
			w.Header().Set("Retry-After", th.retryAfter())
			status, ve = s.errorStatus(r, err)
		}
		s.cfg.Logger.WarnContext(r.Context(), "login refused", "remote", r.RemoteAddr, "status", status)
		s.render(w, r, status, "login.html", map[string]any{"Title": "Log in", "Next": next, "Error": ve})
		return
	}
	value, _ := s.auth.newSession()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(s.auth.ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) formLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r),
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// securityHeaders sets the headers every response carries. The policy
// allows scripts and styles from pacer's own /static/ only: no inline
// script, no inline style, no framing.
func securityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Pages, API answers and exports carry upstream data and the csrf
	// value: no cache keeps them (the static files say otherwise).
	h.Set("Cache-Control", "no-store")
	if overTLS(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// overTLS reports whether the browser reached pacer over HTTPS: directly,
// or through a reverse proxy that ends TLS and says so in
// X-Forwarded-Proto, the setup the README advises. Trusting the header is
// safe because it can only make the answer stricter: a browser stores no
// Secure cookie from, and ignores HSTS over, plain HTTP, so a client that
// forges it only fails to log itself in.
func overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// fail answers an error as JSON under /api/v1 and as a page elsewhere.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r.URL.Path) {
		s.apiFail(w, r, err)
		return
	}
	s.pageFail(w, r, err)
}

// limitError is what a user is told of a body over its limit.
func limitError(e *http.MaxBytesError) *jobs.ValidationError {
	return &jobs.ValidationError{Field: "body", Reason: fmt.Sprintf("the request body is larger than the %d-byte limit", e.Limit)}
}
