package rabbitmq

import (
	"context"
	"fmt"

	"github.com/pacerhq/pacer/broker"
)

// Backoff exposes backoff to the tests.
var Backoff = backoff

// ParseQueueStats exposes parseQueueStats to the tests.
var ParseQueueStats = parseQueueStats

// DropConnections breaks both connections as a network failure would, by
// closing their sockets under amqp091-go, and returns once each keeper has
// noticed the loss (so that no caller can still pick up a dead connection).
// The keepers then reconnect in the background.
func (b *Broker) DropConnections(ctx context.Context) error {
	for _, s := range []*session{b.pub, b.sub} {
		s.mu.Lock()
		netConn, changed := s.netConn, s.changed
		s.mu.Unlock()
		if netConn == nil {
			return fmt.Errorf("drop the %s connection: it is down already", s.name)
		}
		_ = netConn.Close()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("drop the %s connection: %w", s.name, ctx.Err())
		}
	}
	return nil
}

// Queue returns the broker's queue name.
func (b *Broker) Queue() string { return b.cfg.Queue }

// DeliveryMode returns the AMQP delivery mode of a delivery of this driver.
func DeliveryMode(d broker.Delivery) uint8 {
	return d.(*delivery).msg.DeliveryMode
}
