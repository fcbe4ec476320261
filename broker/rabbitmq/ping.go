package rabbitmq

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacerhq/pacer/broker"
)

// Ping reports whether the broker can carry tasks now: both connections are
// up and the queue answers a passive declare. It does not wait for a
// reconnection: while the keeper is reconnecting it fails at once, so that
// a readiness probe says "not ready" rather than hang. ctx bounds the
// declare. After Close it returns [broker.ErrClosed].
func (b *Broker) Ping(ctx context.Context) error {
	if b.isClosed() {
		return broker.ErrClosed
	}
	for _, s := range []*session{b.pub, b.sub} {
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		if conn == nil || conn.IsClosed() {
			return fmt.Errorf("rabbitmq: the %s connection is down (reconnecting)", s.name)
		}
	}
	err := b.onTempChannel(ctx, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclarePassive(b.cfg.Queue, true, false, false, false, queueArgs())
		return err
	})
	if err != nil {
		return fmt.Errorf("rabbitmq: queue %q: %w", b.cfg.Queue, err)
	}
	return nil
}
