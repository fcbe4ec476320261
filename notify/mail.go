package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// MailerConfig configures a [Mailer]: the SMTP server that relays pacer's
// email.
type MailerConfig struct {
	Host string // required: the server's host name, also the name its certificate must carry
	Port int    // 0 means 587 (submission)
	From string // required: the envelope and header sender, an address
	// Username and Password, when Username is set, log in with AUTH PLAIN,
	// which pacer sends only over TLS.
	Username string
	Password string
	// RootCAs verifies the server's certificate after STARTTLS; nil means
	// the system's roots. Verification is never skipped.
	RootCAs *x509.CertPool
	// Timeout bounds one delivery, connection to QUIT. 0 means 30 s.
	Timeout time.Duration
	// LocalName is the name pacer gives in EHLO; "" means "localhost".
	LocalName string
	// NowFunc stamps the Date header. Default time.Now.
	NowFunc func() time.Time
}

// Mailer sends plain-text email through one SMTP server, upgrading to TLS
// with STARTTLS whenever the server offers it. It is safe for concurrent
// use; each Send opens its own connection.
type Mailer struct {
	cfg  MailerConfig
	from string
}

// NewMailer returns a Mailer for cfg; the error names the field that is
// wrong.
func NewMailer(cfg MailerConfig) (*Mailer, error) {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, ":/ \r\n") {
		return nil, fmt.Errorf("smtp host: %q is not a host name", cfg.Host)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp port: %d is not a port", cfg.Port)
	}
	from, err := CheckEmail(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from: %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("smtp timeout: %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Mailer{cfg: cfg, from: from}, nil
}

// Send mails m to the address to. It returns nil once the server has
// accepted the message (250 after DATA), and an error that says which step
// failed otherwise; the password never appears in one.
func (ml *Mailer) Send(ctx context.Context, to string, m Message) error {
	rcpt, err := CheckEmail(to)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("email refused: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, ml.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(ml.cfg.Host, strconv.Itoa(ml.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	// net/smtp takes no context: the deadline bounds every step, and
	// closing the connection when ctx ends unblocks the one running.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, ml.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := ml.session(c, rcpt, m); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return err
	}
	return nil
}

func (ml *Mailer) session(c *smtp.Client, rcpt string, m Message) error {
	if err := c.Hello(ml.cfg.LocalName); err != nil {
		return fmt.Errorf("smtp ehlo: %w", err)
	}
	tlsOn := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: ml.cfg.Host, RootCAs: ml.cfg.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
		tlsOn = true
	}
	if ml.cfg.Username != "" {
		if !tlsOn {
			return &PermanentError{Err: errors.New("smtp auth: the server offers no STARTTLS, and the password is not sent in the clear")}
		}
		if err := c.Auth(smtp.PlainAuth("", ml.cfg.Username, ml.cfg.Password, ml.cfg.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(ml.from); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(ml.compose(rcpt, m)); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	// The message was accepted at the end of DATA; a failed QUIT changes
	// nothing for it.
	_ = c.Quit()
	return nil
}

// compose renders the message: headers, then the text in quoted-printable,
// so that any line length and any character pass every relay. The
// Message-ID is derived from the delivery id, so that a copy sent again
// after a lost answer is recognisably the same message.
func (ml *Mailer) compose(rcpt string, m Message) []byte {
	var b strings.Builder
	domain := ml.from[strings.LastIndexByte(ml.from, '@')+1:]
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", ml.from)
	hdr("To", rcpt)
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	hdr("Date", ml.cfg.NowFunc().Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<pacer.%s@%s>", headerSafe(m.DeliveryID), domain))
	hdr("X-Pacer-Delivery", headerSafe(m.DeliveryID))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text(), "\n", "\r\n")))
	qp.Close()
	return []byte(b.String())
}

// headerSafe keeps only characters that may stand in a header and a
// Message-ID.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x7f && (r == '-' || r == '.' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return r
		}
		return -1
	}, s)
}
