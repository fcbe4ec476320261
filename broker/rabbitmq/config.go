package rabbitmq

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Defaults for the zero fields of a Config.
const (
	// DefaultQueue is the queue tasks travel on when Config.Queue is empty.
	DefaultQueue = "pacer.tasks"
	// DefaultReconnectMin is the first wait before a reconnection.
	DefaultReconnectMin = 100 * time.Millisecond
	// DefaultReconnectMax caps the wait between reconnection attempts.
	DefaultReconnectMax = 10 * time.Second
)

// Config configures a Broker. Only URL is required.
type Config struct {
	// URL is the AMQP URI of the server, as in
	// amqp://user:password@host:5672/vhost (or amqps:// for TLS). Required.
	// It usually holds a password, so it is never logged or put in an error;
	// LogValue shows it redacted.
	URL string
	// Queue is the name of the durable quorum queue. Default DefaultQueue.
	// Every process of one pacer deployment must use the same name.
	Queue string
	// Logger receives reconnections and rejected messages (Warn). Default:
	// a logger that discards everything.
	Logger *slog.Logger
	// ReconnectMin is the wait before the first attempt to reconnect after
	// a connection is lost; each further attempt waits about twice as long,
	// with jitter, up to ReconnectMax. Zero means DefaultReconnectMin.
	ReconnectMin time.Duration
	// ReconnectMax caps the wait between reconnection attempts. Zero means
	// DefaultReconnectMax. It must not be below ReconnectMin.
	ReconnectMax time.Duration
	// Metrics counts reconnections (see NewMetrics). Nil counts nothing.
	Metrics *Metrics
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	return c
}

// validate checks a Config with its defaults applied. Its errors name the
// field and never quote the URL.
func (c Config) validate() error {
	if err := validateURL(c.URL); err != nil {
		return err
	}
	if len(c.Queue) > 255 {
		return fmt.Errorf("rabbitmq config: Queue: name of %d bytes is longer than 255", len(c.Queue))
	}
	if strings.HasPrefix(c.Queue, "amq.") {
		return fmt.Errorf("rabbitmq config: Queue: %q: names starting with \"amq.\" are reserved by the server", c.Queue)
	}
	if c.ReconnectMin < 0 {
		return fmt.Errorf("rabbitmq config: ReconnectMin: %v is negative", c.ReconnectMin)
	}
	if c.ReconnectMax < c.ReconnectMin {
		return fmt.Errorf("rabbitmq config: ReconnectMax: %v is below ReconnectMin %v", c.ReconnectMax, c.ReconnectMin)
	}
	return nil
}

// validateURL checks an AMQP URI. amqp091-go's parse errors wrap a
// *url.Error, which quotes the whole URI, password included; only the
// reason is kept.
func validateURL(raw string) error {
	if raw == "" {
		return errors.New("rabbitmq config: URL: missing")
	}
	if _, err := amqp.ParseURI(raw); err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("rabbitmq config: URL: not an AMQP URI: %w", err)
	}
	return nil
}

// LogValue implements slog.LogValuer, so that a Config can be logged without
// its password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", redactURL(c.URL)),
		slog.String("queue", c.Queue),
		slog.Duration("reconnect_min", c.ReconnectMin),
		slog.Duration("reconnect_max", c.ReconnectMax),
	)
}

// redactURL returns raw with its password replaced by "xxxxx", or a
// placeholder if it doesn't parse.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// backoff returns the wait before reconnection attempt n (1 for the first):
// lo·2ⁿ⁻¹ capped at hi, then jittered down by up to half, never below lo.
// The jitter spreads the reconnections of many workers after a server
// restart.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n < 1 {
		n = 1
	}
	if n <= 62 {
		// The second test catches the shift overflowing.
		if exp := lo << (n - 1); exp < hi && exp>>(n-1) == lo {
			d = exp
		}
	}
	half := d / 2
	d = d - half + rand.N(half+1)
	return max(d, lo)
}
