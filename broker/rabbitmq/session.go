package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacerhq/pacer/broker"
)

const (
	// dialTimeout bounds the TCP connect and, separately, the TLS and AMQP
	// handshakes of one dial, as amqp091-go's DefaultDial does.
	dialTimeout = 30 * time.Second
	// closeTimeout bounds the graceful close of a connection at Close.
	closeTimeout = 5 * time.Second
)

// session is one of the broker's two AMQP connections, kept open by
// Broker.keep. Users take the current connection with wait and open their
// own channels on it; when it dies their channels die with it, and they wait
// for the next one.
type session struct {
	name string // "publish" or "consume": for logs and the connection name

	mu      sync.Mutex
	conn    *amqp.Connection // nil while reconnecting and after Close
	netConn net.Conn         // the socket under conn, for the test hook
	changed chan struct{}    // closed and replaced whenever conn changes

	closeErr error // written by the keeper before it ends, read by Close after
}

func newSession(name string, conn *amqp.Connection, netConn net.Conn) *session {
	return &session{name: name, conn: conn, netConn: netConn, changed: make(chan struct{})}
}

// set installs a new connection (nil while there is none) and wakes every
// waiter.
func (s *session) set(conn *amqp.Connection, netConn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.netConn = conn, netConn
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait returns the current connection, waiting while the keeper reconnects.
// It returns ctx's error when ctx ends and broker.ErrClosed (wrapped by the
// caller) when done is closed.
func (s *session) wait(ctx context.Context, done <-chan struct{}) (*amqp.Connection, error) {
	for {
		s.mu.Lock()
		conn, changed := s.conn, s.changed
		s.mu.Unlock()
		// A connection that died but that the keeper hasn't replaced yet
		// is skipped: the keeper will change it soon.
		if conn != nil && !conn.IsClosed() {
			return conn, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the %s connection: %w", s.name, ctx.Err())
		case <-done:
			return nil, broker.ErrClosed
		}
	}
}

// keep watches the session's connection and replaces it when it is lost,
// until ctx ends; then it closes the connection.
func (b *Broker) keep(ctx context.Context, s *session) {
	for {
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		lost := b.watch(ctx, s, conn)
		if ctx.Err() != nil {
			s.set(nil, nil)
			if err := conn.CloseDeadline(time.Now().Add(closeTimeout)); err != nil && !errors.Is(err, amqp.ErrClosed) {
				s.closeErr = fmt.Errorf("close the %s connection: %w", s.name, err)
			}
			return
		}
		s.set(nil, nil)
		if !b.reconnect(ctx, s, lost) {
			return
		}
	}
}

// watch returns when conn is lost, with the reason, or nil when ctx ends.
// It drains the notification channels it registers, as amqp091-go requires,
// and logs flow control, which stalls publishers.
func (b *Broker) watch(ctx context.Context, s *session, conn *amqp.Connection) error {
	// Buffered: the library sends one close notification, and a blocked
	// notification must not wait on us (it would stall the reader).
	closes := conn.NotifyClose(make(chan *amqp.Error, 1))
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	for {
		select {
		case err, ok := <-closes:
			if !ok || err == nil {
				return errors.New("connection closed")
			}
			return err
		case bl, ok := <-blocks:
			if !ok {
				blocks = nil
				continue
			}
			if bl.Active {
				b.logger.WarnContext(ctx, "rabbitmq blocked the connection", "conn", s.name, "reason", bl.Reason)
			} else {
				b.logger.InfoContext(ctx, "rabbitmq unblocked the connection", "conn", s.name)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// reconnect dials until it succeeds, waiting a growing, jittered backoff
// before each attempt. It reports false if ctx ended first.
func (b *Broker) reconnect(ctx context.Context, s *session, lost error) bool {
	last := lost
	for attempt := 1; ; attempt++ {
		wait := backoff(attempt, b.cfg.ReconnectMin, b.cfg.ReconnectMax)
		b.logger.WarnContext(ctx, "reconnecting to rabbitmq",
			"conn", s.name, "attempt", attempt, "wait", wait, "err", last)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
		conn, netConn, err := dial(ctx, b.cfg.URL, "pacer "+s.name)
		if err == nil {
			// The queue may have gone with the server's state.
			err = declareOn(conn, b.cfg.Queue)
			if err != nil {
				_ = conn.Close()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			last = err
			continue
		}
		s.set(conn, netConn)
		b.cfg.Metrics.reconnected(s.name)
		b.logger.InfoContext(ctx, "reconnected to rabbitmq", "conn", s.name, "attempt", attempt)
		return true
	}
}

// dial opens an AMQP connection named name (as the management UI shows it).
// ctx bounds the whole dial, handshakes included. It returns the socket too,
// for the test hook that breaks connections.
func dial(ctx context.Context, rawURL, name string) (*amqp.Connection, net.Conn, error) {
	var (
		mu      sync.Mutex
		netConn net.Conn
	)
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	cfg := amqp.Config{
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Cleared by amqp091-go once the handshake is done, as with
			// its DefaultDial.
			if err := c.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
				_ = c.Close()
				return nil, err
			}
			mu.Lock()
			netConn = c
			mu.Unlock()
			return c, nil
		},
	}
	// amqp.DialConfig takes no context: end a handshake in progress by
	// expiring its socket's deadline.
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if netConn != nil {
			_ = netConn.SetDeadline(time.Unix(1, 0))
		}
	})
	conn, err := amqp.DialConfig(rawURL, cfg)
	if !stop() {
		// ctx ended during the dial: whatever came of it is unusable.
		if err == nil {
			_ = conn.Close()
		}
		return nil, nil, fmt.Errorf("dial rabbitmq: %w", ctx.Err())
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dial rabbitmq: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return conn, netConn, nil
}
