// Package inproc is the embedded-mode broker: an in-memory FIFO queue of
// task ids that gives the semantics of the RabbitMQ driver (a prefetch bound
// per consumer, requeue with the redelivered mark, unacknowledged deliveries
// returned when a consumer ends) without a server. It is what `pacer run`
// uses; it passes the same conformance suite, brokertest, as the rabbitmq
// driver.
//
// Nothing survives the process: that is fine because the store is the truth
// (DESIGN.md, invariant 1), and on start the dispatcher republishes every
// task that is due.
//
// inproc owns the queue and its consumers. It imports only the standard
// library and its parent package broker, never another pacer package.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pacerhq/pacer/broker"
)

var _ broker.Broker = (*Broker)(nil)

// errSettled is returned by a second Ack or Requeue of one delivery, and by
// either after the delivery went back to the queue because its consumer
// ended.
var errSettled = errors.New("delivery no longer held: already acknowledged, requeued or returned")

// Broker is an in-memory task queue. Publish appends to the tail and never
// waits for consumers; each consumer started by Consume takes from the head.
// A message that is requeued, or that a consumer still held when its context
// ended, goes back to the head of the queue marked redelivered, so that it is
// the next one delivered, as RabbitMQ's queues do with returned messages.
//
// Broker is safe for concurrent use. Create it with New; the zero value is
// not usable.
type Broker struct {
	mu        sync.Mutex
	queue     []message
	consumers map[*consumer]struct{}
	closed    bool
	done      chan struct{} // closed by Close: every consumer ends
	wg        sync.WaitGroup
}

// message is a queued task id.
type message struct {
	id          int64
	redelivered bool
}

// consumer is the state of one Consume call. Its fields are guarded by the
// broker's mu, except wake.
type consumer struct {
	prefetch int
	held     []*delivery   // delivered and not yet settled, oldest first
	wake     chan struct{} // capacity 1: "the queue or held changed, look again"
}

// New returns an empty, open Broker. Call Close to stop its consumers.
func New() *Broker {
	return &Broker{
		consumers: make(map[*consumer]struct{}),
		done:      make(chan struct{}),
	}
}

// Publish appends the task ids to the queue, in order, and returns at once:
// it never waits for a consumer. Every id must be positive; if one is not,
// Publish appends none of them and returns an error. After Close it returns
// [broker.ErrClosed]. ctx is not used: Publish does not wait.
func (b *Broker) Publish(_ context.Context, taskIDs ...int64) error {
	for _, id := range taskIDs {
		if id < 1 {
			return fmt.Errorf("publish: task id %d is not positive", id)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("publish: %w", broker.ErrClosed)
	}
	if len(taskIDs) == 0 {
		return nil
	}
	for _, id := range taskIDs {
		b.queue = append(b.queue, message{id: id})
	}
	b.wakeAll()
	return nil
}

// Consume starts a consumer that holds at most prefetch unacknowledged
// deliveries; prefetch must be at least 1. The returned channel is closed
// when ctx is cancelled or the broker is closed; the deliveries the consumer
// still held then go back to the head of the queue, marked redelivered, and
// their Ack and Requeue return an error. After Close, Consume returns
// [broker.ErrClosed].
func (b *Broker) Consume(ctx context.Context, prefetch int) (<-chan broker.Delivery, error) {
	if prefetch < 1 {
		return nil, fmt.Errorf("consume: prefetch %d is below 1", prefetch)
	}
	c := &consumer{prefetch: prefetch, wake: make(chan struct{}, 1)}
	out := make(chan broker.Delivery)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("consume: %w", broker.ErrClosed)
	}
	b.consumers[c] = struct{}{}
	// Added under mu, which Close takes before it waits, so no Add can race
	// with the Wait.
	b.wg.Add(1)
	go b.run(ctx, c, out)
	return out, nil
}

// Close stops every consumer, returns their unacknowledged deliveries to the
// queue and waits until their goroutines have ended. Messages still queued
// are dropped with the broker. Close is safe to call more than once and
// always returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// run hands deliveries to out until ctx ends or the broker closes.
func (b *Broker) run(ctx context.Context, c *consumer, out chan<- broker.Delivery) {
	defer b.wg.Done()
	defer close(out)
	// Runs before close(out): by the time a caller sees the channel closed,
	// what the consumer held is back in the queue.
	defer b.release(c)

	for {
		d := b.take(c)
		if d == nil {
			select {
			case <-c.wake:
				continue
			case <-ctx.Done():
				return
			case <-b.done:
				return
			}
		}
		select {
		case out <- d:
		case <-ctx.Done():
			return
		case <-b.done:
			return
		}
	}
}

// take removes the head of the queue and records it as held by c, or returns
// nil if the queue is empty or c holds prefetch deliveries already.
func (b *Broker) take(c *consumer) *delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(c.held) >= c.prefetch || len(b.queue) == 0 {
		return nil
	}
	m := b.queue[0]
	b.queue = b.queue[1:]
	d := &delivery{b: b, c: c, msg: m}
	c.held = append(c.held, d)
	return d
}

// release ends consumer c: what it held goes back to the head of the queue,
// in the order it was delivered, and the other consumers are woken to take it.
func (b *Broker) release(c *consumer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.consumers, c)
	if len(c.held) == 0 {
		return
	}
	returned := make([]message, 0, len(c.held))
	for _, d := range c.held {
		d.settled = true
		returned = append(returned, message{id: d.msg.id, redelivered: true})
	}
	c.held = nil
	b.queue = slices.Insert(b.queue, 0, returned...)
	b.wakeAll()
}

// settle marks d as no longer held by its consumer. It reports an error if d
// was settled before or the broker is closed. The caller holds b.mu.
func (b *Broker) settle(d *delivery) error {
	if b.closed {
		return broker.ErrClosed
	}
	if d.settled {
		return errSettled
	}
	d.settled = true
	d.c.held = slices.DeleteFunc(d.c.held, func(h *delivery) bool { return h == d })
	return nil
}

// wakeAll tells every consumer to look at the queue again. The caller holds
// b.mu.
func (b *Broker) wakeAll() {
	for c := range b.consumers {
		c.wakeUp()
	}
}

// wakeUp tells c to look at the queue again, without waiting.
func (c *consumer) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// delivery is one message held by a consumer.
type delivery struct {
	b       *Broker
	c       *consumer
	msg     message
	settled bool // guarded by b.mu
}

// TaskID implements [broker.Delivery].
func (d *delivery) TaskID() int64 { return d.msg.id }

// Redelivered implements [broker.Delivery]: true once the message was
// requeued or returned by a consumer that ended.
func (d *delivery) Redelivered() bool { return d.msg.redelivered }

// Ack implements [broker.Delivery]. It returns an error, and changes nothing,
// if the delivery was settled before, its consumer has ended (the message is
// back in the queue) or the broker is closed.
func (d *delivery) Ack() error {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if err := d.b.settle(d); err != nil {
		return fmt.Errorf("ack task %d: %w", d.msg.id, err)
	}
	d.c.wakeUp() // it may take one more now
	return nil
}

// Requeue implements [broker.Delivery]: the message goes back to the head of
// the queue, marked redelivered. Errors are those of Ack.
func (d *delivery) Requeue() error {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if err := d.b.settle(d); err != nil {
		return fmt.Errorf("requeue task %d: %w", d.msg.id, err)
	}
	d.b.queue = slices.Insert(d.b.queue, 0, message{id: d.msg.id, redelivered: true})
	d.b.wakeAll()
	return nil
}
