package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pacerhq/pacer/jobs"
)

// jsonSubmission is a JSON submission as decodeJSONSubmission read it. Its
// ids, when the body had an "ids" array, wait in a temporary file, one per
// line, so that a million of them never sit in memory (DESIGN.md,
// invariant 5); Close removes the file.
type jsonSubmission struct {
	in     submitInput
	params json.RawMessage
	ids    *os.File // nil when the body had no "ids"
}

// Items returns the ids to plan from, from the first; nil when the body
// named none.
func (j *jsonSubmission) Items() (io.Reader, error) {
	if j.ids == nil {
		return nil, nil
	}
	if _, err := j.ids.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReader(j.ids), nil
}

// Close removes the ids' temporary file.
func (j *jsonSubmission) Close() error {
	if j.ids == nil {
		return nil
	}
	return errors.Join(j.ids.Close(), os.Remove(j.ids.Name()))
}

// decodeJSONSubmission reads one JSON object from body token by token: the
// kind, credential, params and notify fields whole, and the "ids" array an
// element at a time into a temporary file. An id is a string or a bare
// number (whose digits are kept exactly); an unknown field, a duplicate
// "ids" or an id with a line break is refused, naming it. The caller must
// Close the result, also on error.
func decodeJSONSubmission(body io.Reader) (*jsonSubmission, error) {
	j := &jsonSubmission{}
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return j, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return j, bodyError(err)
		}
		key, _ := tok.(string)
		var target *string
		switch key {
		case "kind":
			target = &j.in.Kind
		case "credential":
			target = &j.in.Credential
		case "notify_webhook":
			target = &j.in.NotifyWebhook
		case "notify_email":
			target = &j.in.NotifyEmail
		case "params":
			if err := dec.Decode(&j.params); err != nil {
				return j, bodyError(err)
			}
			continue
		case "ids":
			if j.ids != nil {
				return j, jobs.Invalid("ids", "given twice")
			}
			if err := j.readIDs(dec); err != nil {
				return j, err
			}
			continue
		default:
			return j, jobs.Invalid("body", "json: unknown field %q", key)
		}
		if err := dec.Decode(target); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return j, jobs.Invalid(key, "not a string: %s", typeErr.Value)
			}
			return j, bodyError(err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return j, err
	}
	j.in.Params = string(j.params)
	return j, nil
}

// readIDs copies the "ids" array, which dec is about to read, into a
// temporary file, an id a line. null counts as no ids, as it did when the
// body was decoded whole.
func (j *jsonSubmission) readIDs(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return bodyError(err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return jobs.Invalid("ids", "not an array of ids")
	}
	if j.ids, err = os.CreateTemp("", "pacer-ids-*"); err != nil {
		return fmt.Errorf("spool ids: %w", err)
	}
	w := bufio.NewWriter(j.ids)
	for n := 1; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return bodyError(err)
		}
		var id string
		switch v := tok.(type) {
		case string:
			id = v
		case json.Number:
			id = v.String()
		default:
			return jobs.Invalid("ids", "item %d is not a string or a number", n)
		}
		if strings.ContainsAny(id, "\r\n") {
			return jobs.Invalid("ids", "item %d contains a line break", n)
		}
		w.WriteString(id)
		w.WriteByte('\n')
	}
	if err := expectDelim(dec, ']'); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("spool ids: %w", err)
	}
	return nil
}

// expectDelim reads the next token, which must be the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return bodyError(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return jobs.Invalid("body", "want %q, found %v", d, tok)
	}
	return nil
}
