package rabbitmq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/rabbitmq"
)

// TestPing: a connected broker pings; one whose connections just dropped
// does not until it has reconnected; a deleted queue fails the ping; a
// closed broker says ErrClosed.
func TestPing(t *testing.T) {
	t.Parallel()
	// A long first reconnect wait, so that the ping after the drop surely
	// sees the connections down.
	b := newBroker(t, rabbitmq.Config{ReconnectMin: 2 * time.Second, ReconnectMax: 2 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("ping a connected broker: %v", err)
	}
	if err := b.DropConnections(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err == nil {
		t.Fatal("ping right after the connections dropped: no error")
	}
	for b.Ping(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatalf("no successful ping within %s of the drop", patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.DeleteQueue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err == nil {
		t.Fatal("ping with the queue deleted: no error")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("ping after Close: %v, want broker.ErrClosed", err)
	}
}
