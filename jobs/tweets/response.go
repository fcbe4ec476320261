package tweets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// reasonAbsent is the reason given for a requested id that X's answer names
// neither in "data" nor in "errors".
const reasonAbsent = "absent from the upstream's response"

// lookupResponse is a decoded 200 answer to a tweet lookup.
type lookupResponse struct {
	// tweets maps each tweet's id to the tweet object, compacted.
	tweets map[string]json.RawMessage
	// missing maps the id of each tweet reported in "errors" to the reason.
	missing map[string]string
}

// decodeLookupResponse decodes the body of a 200 answer to GET /2/tweets.
// The body must be a JSON object whose "data", if present and not null, is a
// list of objects; a tweet without a string id is skipped. "errors" entries
// are read loosely (X puts several shapes there); an entry that names a
// tweet by "resource_id" or "value" marks it missing. includes and meta are
// ignored. The first of repeated tweets or errors wins.
func decodeLookupResponse(body []byte) (lookupResponse, error) {
	r := lookupResponse{tweets: map[string]json.RawMessage{}, missing: map[string]string{}}
	var top struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return r, errors.New("response is not a JSON object")
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return r, err
	}
	var data []json.RawMessage
	if len(top.Data) > 0 && string(top.Data) != "null" {
		if top.Data[0] != '[' {
			return r, errors.New(`"data" is not a list`)
		}
		if err := json.Unmarshal(top.Data, &data); err != nil {
			return r, fmt.Errorf(`"data": %w`, err)
		}
	}
	for i, d := range data {
		var t map[string]json.RawMessage
		if len(d) == 0 || d[0] != '{' || json.Unmarshal(d, &t) != nil {
			return r, fmt.Errorf(`"data"[%d] is not an object`, i)
		}
		id := jsonString(t["id"])
		if id == "" {
			continue
		}
		if _, dup := r.tweets[id]; dup {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return r, fmt.Errorf(`"data"[%d]: %w`, i, err)
		}
		r.tweets[id] = buf.Bytes()
	}
	for _, e := range top.Errors {
		var p map[string]json.RawMessage
		if json.Unmarshal(e, &p) != nil {
			continue // not a problem object: nothing it could tell us
		}
		if rt := jsonString(p["resource_type"]); rt != "" && rt != "tweet" {
			continue
		}
		id := jsonString(p["resource_id"])
		if id == "" {
			id = jsonString(p["value"])
		}
		if id == "" {
			continue
		}
		if _, dup := r.missing[id]; dup {
			continue
		}
		reason := jsonString(p["detail"])
		if reason == "" {
			reason = jsonString(p["title"])
		}
		if reason == "" {
			reason = "reported missing by the upstream"
		}
		r.missing[id] = reason
	}
	return r, nil
}

// jsonString returns raw as a string if it is a JSON string, or the text of a
// JSON number (an id sent as a number); "" for anything else.
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// rows returns one row per id, in the order of ids: ok for a tweet in
// "data", not_found with X's reason for one in "errors", and not_found with
// [reasonAbsent] for one in neither.
func (r lookupResponse) rows(ids []string) []jobs.Row {
	rows := make([]jobs.Row, 0, len(ids))
	for _, id := range ids {
		if t, ok := r.tweets[id]; ok {
			rows = append(rows, jobs.Row{Key: id, Status: jobs.StatusOK, Data: t})
			continue
		}
		reason, ok := r.missing[id]
		if !ok {
			reason = reasonAbsent
		}
		rows = append(rows, jobs.Row{Key: id, Status: jobs.StatusNotFound, Reason: reason})
	}
	return rows
}

// StatusError is an upstream answer whose status is not 200.
type StatusError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the start of the response body: at most 200 bytes, made valid
	// UTF-8, its whitespace collapsed and anything after "Bearer " redacted.
	Body string
}

// Error says "upstream answered <code> <text>" and quotes the body excerpt.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("upstream answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// excerptLen is how much of an error body a StatusError keeps.
const excerptLen = 200

// excerpt returns the start of body fit for an error message and a log: short,
// valid UTF-8, on one line and without bearer tokens, should an upstream echo
// the request's Authorization header.
func excerpt(body []byte) string {
	cut := len(body) > excerptLen
	if cut {
		body = body[:excerptLen]
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	var out strings.Builder
	for {
		i := strings.Index(asciiLower(s), "bearer ")
		if i < 0 {
			out.WriteString(s)
			break
		}
		out.WriteString(s[:i+len("bearer ")])
		out.WriteString("[redacted]")
		s = s[i+len("bearer "):]
		if j := strings.IndexAny(s, ` "',;}`); j >= 0 {
			s = s[j:]
		} else {
			s = ""
		}
	}
	if cut {
		out.WriteString("…")
	}
	return out.String()
}

// asciiLower lower-cases the ASCII letters of s only, so that indexes into
// the result are indexes into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
