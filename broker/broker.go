// Package broker declares how task ids travel from the dispatcher to workers:
// the [Broker] contract and its [Delivery]. The drivers live in the
// subpackages rabbitmq (distributed mode, durable quorum queues with publisher
// confirms) and inproc (embedded mode); brokertest is the conformance suite
// both must pass.
//
// A message carries one task id and nothing else (DESIGN.md, invariant 1):
// the store decides whether the task may run. A lost message delays a task
// until the dispatcher republishes it; a duplicated one is acknowledged by the
// worker whose claim fails. So the broker may deliver a message more than
// once, but must not drop one that Publish reported as sent while the broker
// itself stays up.
//
// broker imports no other pacer package.
package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrClosed is returned by a Broker's methods after Close.
var ErrClosed = errors.New("broker closed")

// Broker delivers task ids. Implementations are safe for concurrent use.
type Broker interface {
	// Publish hands task ids to the broker and returns once the broker has
	// taken responsibility for every one of them (for RabbitMQ: a publisher
	// confirm for each persistent message). On error some ids may have been
	// sent and others not; the caller republishes them all, which is safe.
	// Every id must be positive (DecodeTaskID refuses the others): if one is
	// not, Publish sends none and returns an error.
	Publish(ctx context.Context, taskIDs ...int64) error
	// Consume starts a consumer that holds at most prefetch unacknowledged
	// deliveries; prefetch must be at least 1. The returned channel stays
	// open across reconnections and is closed when ctx is cancelled or the
	// broker is closed; deliveries still unacknowledged then are returned to
	// the queue (to be redelivered, marked so), and their Ack returns an
	// error.
	Consume(ctx context.Context, prefetch int) (<-chan Delivery, error)
	// Close stops every consumer and closes the connections. It is safe to
	// call more than once.
	Close() error
}

// Delivery is one message handed to a consumer. Exactly one of Ack or
// Requeue should be called, once; a second call returns an error and changes
// nothing.
type Delivery interface {
	// TaskID is the task the message names.
	TaskID() int64
	// Redelivered reports whether the broker delivered this message before.
	Redelivered() bool
	// Ack removes the message for good. Call it only after the store commit.
	// An Ack that fails (the channel it came on is gone) is harmless: the
	// broker redelivers the message and the claim refuses it.
	Ack() error
	// Requeue returns the message to the queue for another consumer.
	Requeue() error
}

// EncodeTaskID is the body of the message for a task id.
func EncodeTaskID(id int64) []byte {
	return strconv.AppendInt(nil, id, 10)
}

// DecodeTaskID parses a message body written by EncodeTaskID. It refuses
// anything but a positive decimal integer, so a foreign or corrupt message is
// reported, not turned into a task id.
func DecodeTaskID(body []byte) (int64, error) {
	if len(body) == 0 || len(body) > 19 {
		return 0, fmt.Errorf("decode task id: body of %d bytes is not a task id", len(body))
	}
	for _, c := range body {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("decode task id: body %q is not a decimal task id", body)
		}
	}
	id, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("decode task id: body %q is not a positive task id", body)
	}
	return id, nil
}
