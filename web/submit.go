package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/store"
)

// submitInput is what a submission carried, kept to show the form again.
type submitInput struct {
	Kind       string
	Credential string
	Params     string
	IDs        string
	// NotifyWebhook and NotifyEmail hear of the job's ending.
	NotifyWebhook, NotifyEmail string
	// Fields are the form's per-kind param fields, by "KIND.PARAM".
	Fields map[string]string
}

// Field returns the value of the form's param field name of kind.
func (in submitInput) Field(kind, name string) string { return in.Fields[kind+"."+name] }

// submitFunc hands a submission to the job service: Submit, or Estimate.
type submitFunc func(context.Context, jobs.Submission) error

// maxFieldBytes caps a form field other than the ids.
const maxFieldBytes = 1 << 20

// submit reads a submission from r and hands it to call. The body is JSON,
// a multipart form (the ids file part, "ids_file", is streamed and must come
// last) or a URL-encoded form.
func (s *Server) submit(r *http.Request, call submitFunc) (submitInput, error) {
	var in submitInput
	r.Body = clientBody{http.MaxBytesReader(nil, r.Body, s.cfg.MaxUploadBytes)}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	switch mediaType {
	case "application/json":
		j, err := decodeJSONSubmission(r.Body)
		defer j.Close()
		in = j.in
		if err != nil {
			return in, err
		}
		items, err := j.Items()
		if err != nil {
			return in, err
		}
		err = call(r.Context(), jobs.Submission{Kind: in.Kind, Credential: in.Credential, Params: j.params, Items: items,
			NotifyWebhook: in.NotifyWebhook, NotifyEmail: in.NotifyEmail})
		return in, uploadError(err)
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return in, bodyError(err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return in, bodyError(err)
			}
			name := part.FormName()
			if name == "ids_file" {
				if part.FileName() == "" { // the browser's empty file input
					continue
				}
				// Ids pasted as well come first, so line numbers count
				// them, then the file's lines.
				var items io.Reader = clientReader{part}
				if strings.TrimSpace(in.IDs) != "" {
					items = io.MultiReader(strings.NewReader(strings.TrimRight(in.IDs, "\n")+"\n"), part)
				}
				sub, err := s.submission(in, items)
				if err != nil {
					return in, err
				}
				return in, uploadError(call(r.Context(), sub))
			}
			limit := int64(maxFieldBytes)
			if name == "ids" {
				limit = s.cfg.MaxUploadBytes
			}
			b, err := io.ReadAll(io.LimitReader(clientReader{part}, limit+1))
			if err != nil {
				return in, uploadError(err)
			}
			if int64(len(b)) > limit {
				return in, jobs.Invalid(name, "longer than %d bytes", limit)
			}
			in.set(name, string(b))
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return in, bodyError(err)
		}
		for name, v := range r.PostForm {
			in.set(name, v[0])
		}
	default:
		return in, jobs.Invalid("Content-Type", "%q is not accepted; send application/json, multipart/form-data or application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	var items io.Reader
	if strings.TrimSpace(in.IDs) != "" {
		items = strings.NewReader(in.IDs)
	}
	sub, err := s.submission(in, items)
	if err != nil {
		return in, err
	}
	return in, uploadError(call(r.Context(), sub))
}

func (in *submitInput) set(name, value string) {
	switch name {
	case "kind":
		in.Kind = strings.TrimSpace(value)
	case "credential":
		in.Credential = strings.TrimSpace(value)
	case "params":
		in.Params = value
	case "ids":
		in.IDs = value
	case "notify_webhook":
		in.NotifyWebhook = strings.TrimSpace(value)
	case "notify_email":
		in.NotifyEmail = strings.TrimSpace(value)
	default:
		if strings.Contains(name, ".") && len(value) > 0 {
			if in.Fields == nil {
				in.Fields = map[string]string{}
			}
			in.Fields[name] = value
		}
	}
}

// bodyError turns an unreadable body into a validation error of "body".
func bodyError(err error) error {
	if e := uploadError(err); e != err {
		return e
	}
	return jobs.Invalid("body", "%v", err)
}

// uploadError turns a failure to read the request into a validation error,
// wherever the read happened (inside a kind's planner, usually): an
// oversized body names the ids, a broken one the body.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return jobs.Invalid("ids", "the submission is larger than the %d-byte limit", tooBig.Limit)
	}
	var broken *readError
	if errors.As(err, &broken) {
		return jobs.Invalid("body", "unreadable: %v", broken.err)
	}
	return err
}

// readError is a failure to read the client's request body: the client's
// fault (a cut connection, a malformed multipart body), not pacer's.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// clientReader marks its reader's errors, except io.EOF, as readErrors, so
// that they are told apart from the store's and the planner's own.
type clientReader struct{ r io.Reader }

func (c clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// clientBody is a clientReader for a request body.
type clientBody struct{ rc io.ReadCloser }

func (c clientBody) Read(p []byte) (int, error) { return clientReader{c.rc}.Read(p) }
func (c clientBody) Close() error               { return c.rc.Close() }

// errorStatus maps an error to an HTTP status and what the user is told.
func (s *Server) errorStatus(r *http.Request, err error) (int, *jobs.ValidationError) {
	var ve *jobs.ValidationError
	var tooBig *http.MaxBytesError
	var throttled *throttledError
	switch {
	case errors.As(err, &throttled):
		return http.StatusTooManyRequests, &jobs.ValidationError{Field: throttled.field, Reason: throttled.Error()}
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, &jobs.ValidationError{Field: "Authorization", Reason: "send the admin token as Authorization: Bearer TOKEN"}
	case errors.Is(err, errForeignHost):
		return http.StatusForbidden, &jobs.ValidationError{Field: "Host", Reason: "without an admin token pacer answers only requests addressed to localhost or a loopback address; set PACER_ADMIN_TOKEN to serve other names"}
	case errors.Is(err, errCSRF):
		return http.StatusForbidden, &jobs.ValidationError{Field: "csrf", Reason: "missing or wrong; reload the page and try again"}
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, limitError(tooBig)
	case errors.As(err, &ve):
		if ve.Field == "ids" && strings.Contains(ve.Reason, "byte limit") {
			return http.StatusRequestEntityTooLarge, ve
		}
		return http.StatusBadRequest, ve
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, &jobs.ValidationError{Field: "id", Reason: "no such job"}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, &jobs.ValidationError{Field: "state", Reason: "the job's state does not allow this"}
	case errors.Is(err, errNoRoute):
		return http.StatusNotFound, &jobs.ValidationError{Field: "action", Reason: "unknown action"}
	}
	s.cfg.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, &jobs.ValidationError{Reason: "internal error"}
}
