package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultMaxResponseBytes is how much of a receiver's answer a [Webhook]
// reads when WebhookConfig.MaxResponseBytes is 0.
const DefaultMaxResponseBytes = 64 << 10

// WebhookConfig configures a [Webhook].
type WebhookConfig struct {
	// Secret keys the HMAC of every POST. Required: an unsigned webhook
	// could not be trusted by its receiver.
	Secret []byte
	// Allow lists the hosts a POST may go to, checked again at each send
	// (the job was checked when submitted; the config may have changed).
	Allow Allowlist
	// Client sends the POSTs. Nil means a client of its own. Either way, a
	// copy is used that follows no redirect: a 3xx is an answer, not a
	// hop to a host nobody allowed.
	Client *http.Client
	// Timeout bounds one POST, body included. 0 means 30 s.
	Timeout time.Duration
	// MaxResponseBytes caps how much of the answer is read (for the error
	// message); 0 means [DefaultMaxResponseBytes].
	MaxResponseBytes int64
	// NowFunc stamps signatures. Default time.Now.
	NowFunc func() time.Time
}

// Webhook POSTs signed messages. It is safe for concurrent use.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook returns a Webhook for cfg; an error if it has no secret or a
// negative bound.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	switch {
	case len(cfg.Secret) == 0:
		return nil, errors.New("webhook: a secret is required")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("webhook: timeout %s is negative", cfg.Timeout)
	case cfg.MaxResponseBytes < 0:
		return nil, fmt.Errorf("webhook: max response bytes %d is negative", cfg.MaxResponseBytes)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	c := http.Client{}
	if cfg.Client != nil {
		c = *cfg.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = cfg.Timeout
	return &Webhook{cfg: cfg, client: &c}, nil
}

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	Code int
	Body string // the start of the answer, for the record
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("receiver answered %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("receiver answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// PermanentError is a send that no retry can fix (a target refused by the
// allowlist); the delivery loop gives up on it at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is or wraps a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Send POSTs m as JSON to target, signed. It returns nil on a 2xx answer, a
// *StatusError on any other, a *PermanentError if target is not allowed,
// and the transport's error otherwise. Errors never hold the URL's query.
func (w *Webhook) Send(ctx context.Context, target string, m Message) error {
	if err := CheckWebhookURL(target, w.cfg.Allow); err != nil {
		return &PermanentError{Err: fmt.Errorf("webhook refused: %w", err)}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("encode message: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("build request: %w", stripURL(err))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pacer-webhook/1")
	req.Header.Set(DeliveryHeader, m.DeliveryID)
	req.Header.Set(EventHeader, m.Event)
	req.Header.Set(SignatureHeader, Sign(w.cfg.Secret, w.cfg.NowFunc(), body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", stripURL(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, w.cfg.MaxResponseBytes))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &StatusError{Code: resp.StatusCode, Body: excerpt(answer)}
}

// stripURL returns the reason of a *url.Error without the URL, whose query
// may hold a receiver's token.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// excerpt is the start of an answer, on one line.
func excerpt(b []byte) string {
	const n = 200
	s := string(bytes.ToValidUTF8(b, []byte("?")))
	s = string(bytes.Join(bytes.Fields([]byte(s)), []byte(" ")))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
