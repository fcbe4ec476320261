package httpkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// Placeholder marks where each item goes in a url_template.
const Placeholder = "{id}"

// Bounds on params.
const (
	maxURLLength   = 2048
	maxHeaders     = 32
	maxHeaderValue = 1024
	maxMaxPages    = 1_000_000
	maxCursorParam = 128
)

// Params are an http_get job's params. Exactly one of URLTemplate (mode A:
// a request per item) and StartURL (mode B: pages) is set.
type Params struct {
	// URLTemplate is an absolute http(s) URL holding [Placeholder] where
	// each item goes, in the path or the query (not the host); the item is
	// escaped for where it stands.
	URLTemplate string `json:"url_template,omitempty"`
	// StartURL is the first page of a paginated walk.
	StartURL string `json:"start_url,omitempty"`
	// CursorPath is a dotted JSON path (meta.next_cursor) to the next
	// page's cursor in each page's body; when the value is present and not
	// empty, the next page is StartURL with the query parameter CursorParam
	// set to it.
	CursorPath string `json:"cursor_path,omitempty"`
	// CursorParam names the cursor's query parameter; "cursor" when
	// CursorPath is set and this is empty.
	CursorParam string `json:"cursor_param,omitempty"`
	// FollowLink follows each page's Link header's rel="next" instead.
	FollowLink bool `json:"follow_link,omitempty"`
	// MaxPages caps the pages of a walk; 0 means no cap.
	MaxPages int `json:"max_pages,omitempty"`
	// Headers are sent with every request. Authorization, Proxy-Authorization,
	// Cookie and Host are refused: the credential supplies authentication.
	Headers map[string]string `json:"headers,omitempty"`
}

// paged reports whether p is a mode B job.
func (p Params) paged() bool { return p.StartURL != "" }

// parseParams decodes and validates params against al. Errors are
// *jobs.ValidationError naming "params" or "params.<key>".
func parseParams(raw json.RawMessage, al allowlist) (Params, error) {
	var p Params
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, jobs.Invalid("params", "set url_template (a request per item) or start_url (pages)")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, jobs.Invalid("params", "%v (known keys: url_template, start_url, cursor_path, cursor_param, follow_link, max_pages, headers)", err)
	}
	if dec.More() {
		return p, jobs.Invalid("params", "trailing data after the JSON object")
	}
	switch {
	case p.URLTemplate != "" && p.StartURL != "":
		return p, jobs.Invalid("params.url_template", "set url_template or start_url, not both")
	case p.URLTemplate == "" && p.StartURL == "":
		return p, jobs.Invalid("params", "set url_template (a request per item) or start_url (pages)")
	case p.URLTemplate != "":
		if err := checkTemplate(p.URLTemplate, al); err != nil {
			return p, jobs.Invalid("params.url_template", "%v", err)
		}
		for field, set := range map[string]bool{"cursor_path": p.CursorPath != "", "cursor_param": p.CursorParam != "", "follow_link": p.FollowLink, "max_pages": p.MaxPages != 0} {
			if set {
				return p, jobs.Invalid("params."+field, "only for start_url jobs")
			}
		}
	default:
		if strings.Contains(p.StartURL, Placeholder) {
			return p, jobs.Invalid("params.start_url", "holds %s: a paginated job has no items; use url_template for a request per item", Placeholder)
		}
		if _, err := checkURL(p.StartURL, al); err != nil {
			return p, jobs.Invalid("params.start_url", "%v", err)
		}
		if p.CursorPath != "" && p.FollowLink {
			return p, jobs.Invalid("params.cursor_path", "set cursor_path or follow_link, not both")
		}
		if p.CursorPath != "" {
			if _, err := parsePath(p.CursorPath); err != nil {
				return p, jobs.Invalid("params.cursor_path", "%v", err)
			}
			if p.CursorParam == "" {
				p.CursorParam = "cursor"
			}
			if len(p.CursorParam) > maxCursorParam || !isToken(p.CursorParam) {
				return p, jobs.Invalid("params.cursor_param", "%q is not a query parameter name (letters, digits and !#$%%&'*+-.^_`|~, at most %d)", clip(p.CursorParam, 40), maxCursorParam)
			}
		} else if p.CursorParam != "" {
			return p, jobs.Invalid("params.cursor_param", "only with cursor_path")
		}
		if p.MaxPages < 0 || p.MaxPages > maxMaxPages {
			return p, jobs.Invalid("params.max_pages", "%d is not between 0 (no cap) and %d", p.MaxPages, maxMaxPages)
		}
	}
	if len(p.Headers) > maxHeaders {
		return p, jobs.Invalid("params.headers", "more than %d headers", maxHeaders)
	}
	if len(p.Headers) > 0 {
		hs := make(map[string]string, len(p.Headers))
		names := make([]string, 0, len(p.Headers))
		for name := range p.Headers {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			value := p.Headers[name]
			if !isToken(name) {
				return p, jobs.Invalid("params.headers", "%q is not a header name", clip(name, 40))
			}
			canon := http.CanonicalHeaderKey(name)
			switch canon {
			case "Authorization", "Proxy-Authorization", "Cookie", "Host":
				return p, jobs.Invalid("params.headers", "%s may not be set: the job's credential supplies authentication, and the URL the host", canon)
			}
			if _, dup := hs[canon]; dup {
				return p, jobs.Invalid("params.headers", "%s is given twice", canon)
			}
			if len(value) > maxHeaderValue {
				return p, jobs.Invalid("params.headers", "%s: value longer than %d bytes", canon, maxHeaderValue)
			}
			for i := 0; i < len(value); i++ {
				if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
					return p, jobs.Invalid("params.headers", "%s: value holds a control character", canon)
				}
			}
			hs[canon] = value
		}
		p.Headers = hs
	}
	return p, nil
}

// checkTemplate checks a url_template: an absolute http(s) URL on the
// allowlist with [Placeholder] in its path or query.
func checkTemplate(tmpl string, al allowlist) error {
	if !strings.Contains(tmpl, Placeholder) {
		return fmt.Errorf("holds no %s: put it where each item goes, as https://api.example.org/items/%s", Placeholder, Placeholder)
	}
	i := strings.Index(tmpl, "://")
	if i < 0 {
		return errors.New("want an absolute http or https URL")
	}
	authorityEnd := len(tmpl)
	if j := strings.IndexAny(tmpl[i+3:], "/?#"); j >= 0 {
		authorityEnd = i + 3 + j
	}
	if strings.Index(tmpl, Placeholder) < authorityEnd {
		return fmt.Errorf("%s may stand in the path or the query, not the host", Placeholder)
	}
	if f := strings.IndexByte(tmpl, '#'); f >= 0 && strings.LastIndex(tmpl, Placeholder) > f {
		return fmt.Errorf("%s may not stand in the fragment", Placeholder)
	}
	_, err := checkURL(strings.ReplaceAll(tmpl, Placeholder, "x"), al)
	return err
}

// checkURL parses raw and checks that it is an absolute http(s) URL without
// user info or fragment, on the allowlist.
func checkURL(raw string, al allowlist) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("longer than %d bytes", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", stripURL(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an absolute http or https URL", clip(u.Redacted(), 80))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q: no host", clip(u.Redacted(), 80))
	case u.User != nil:
		return nil, errors.New("credentials do not belong in a URL: the job's credential authenticates its requests")
	case u.Fragment != "":
		return nil, errors.New("a fragment is never sent; leave it out")
	case !al.Allows(u.Hostname()):
		return nil, errors.New(refusal(al, u.Hostname()))
	}
	return u, nil
}

// stripURL returns the reason of a *url.Error without the URL, which may be
// long or hold secrets.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isToken reports whether s is an HTTP token (RFC 9110): a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// expand puts item in place of each [Placeholder] of tmpl: path-escaped
// before the query, query-escaped in it. An item "." or ".." is escaped
// whole in the path, so that it names a resource rather than moving up one.
func expand(tmpl, item string) string {
	q := strings.IndexByte(tmpl, '?')
	inPath := url.PathEscape(item)
	switch item {
	case ".":
		inPath = "%2E"
	case "..":
		inPath = "%2E%2E"
	}
	var b strings.Builder
	pos := 0
	for {
		i := strings.Index(tmpl[pos:], Placeholder)
		if i < 0 {
			b.WriteString(tmpl[pos:])
			return b.String()
		}
		i += pos
		b.WriteString(tmpl[pos:i])
		if q >= 0 && i > q {
			b.WriteString(url.QueryEscape(item))
		} else {
			b.WriteString(inPath)
		}
		pos = i + len(Placeholder)
	}
}
