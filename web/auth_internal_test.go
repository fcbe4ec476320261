package web

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
)

// FuzzSafeNext: whatever next the login form gets, it redirects to a path
// on this server.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/jobs/1?status=ok", "//evil.example", "/\\evil", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil", "/\t/evil", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: a local path must pass unchanged", next, got)
		}
	})
}

// FuzzSession: no cookie value but a signed one opens a session.
func FuzzSession(f *testing.F) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAuth("fuzz-admin-token-0123456789", time.Hour, func() time.Time { return now })
	exp := "1893459600" // 2030-01-01 01:00 UTC
	good := "v1.nonce." + exp + "." + a.sign("session", "nonce", exp)
	f.Add(good)
	f.Add("v1.a.b.c")
	f.Add(good + "x")
	f.Add(strings.Replace(good, "v1.", "v2.", 1))
	f.Fuzz(func(t *testing.T, v string) {
		s, ok := a.parseSession(v)
		if v == good {
			if !ok || s.csrf == "" {
				t.Fatal("the signed value was refused")
			}
			return
		}
		if ok {
			t.Fatalf("parseSession(%q) accepted a value it did not sign", v)
		}
	})
}

// FuzzCSRFMultipart: a multipart body passes the csrf check only with the
// right value as its first part, and the handler still reads the whole
// body after the check.
func FuzzCSRFMultipart(f *testing.F) {
	f.Add("csrf", "right", "kind", "tweet_lookup")
	f.Add("kind", "tweet_lookup", "csrf", "right")
	f.Add("csrf", "wrong", "ids", "1\n2")
	f.Add("csrf", strings.Repeat("r", 9000), "ids", "1")
	f.Fuzz(func(t *testing.T, name1, value1, name2, value2 string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if mw.WriteField(name1, value1) != nil || mw.WriteField(name2, value2) != nil || mw.Close() != nil {
			t.Skip()
		}
		whole := buf.String()
		countParts := func(r *multipart.Reader) int {
			n := 0
			for {
				p, err := r.NextPart()
				if err != nil {
					return n
				}
				p.Close()
				n++
			}
		}
		parts := countParts(multipart.NewReader(strings.NewReader(whole), mw.Boundary()))
		r := httptest.NewRequest("POST", "/jobs", strings.NewReader(whole))
		r.Header.Set("Content-Type", mw.FormDataContentType())
		err := checkCSRF(r, "right")
		if want := name1 == "csrf" && value1 == "right"; (err == nil) != want {
			t.Fatalf("checkCSRF = %v for first part %q=%q", err, name1, value1)
		}
		if err == nil {
			form, err := r.MultipartReader()
			if err != nil {
				t.Fatal(err)
			}
			if n := countParts(form); n != parts {
				t.Fatalf("the handler saw %d parts after the check, want %d", n, parts)
			}
		}
	})
}

// FuzzParamValue: a form field either converts or names its param.
func FuzzParamValue(f *testing.F) {
	for _, s := range []string{"12", "x", "a, b c", "X-A: 1\nbad", "on", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, typ := range []jobs.ParamType{jobs.ParamString, jobs.ParamInt, jobs.ParamBool, jobs.ParamList, jobs.ParamHeaders} {
			_, err := paramValue(jobs.Param{Name: "p", Type: typ}, v)
			if ve, ok := err.(*jobs.ValidationError); err != nil && (!ok || ve.Field != "params.p") {
				t.Fatalf("%s %q: %v", typ, v, err)
			}
		}
	})
}
