package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/pacerhq/pacer/broker"
)

var _ broker.Broker = (*Broker)(nil)

const (
	// publishWindow is how many messages one Publish keeps unconfirmed at
	// once on its channel: enough to keep the server busy, few enough that
	// a failure wastes little and memory stays bounded for any batch size.
	publishWindow = 256
	// maxIdleChannels is how many confirm-mode channels the broker keeps
	// for reuse between Publish calls; concurrent calls beyond it open
	// channels of their own and close them afterwards.
	maxIdleChannels = 16
)

// errSettled is returned by a second Ack or Requeue of one delivery. The
// driver refuses it itself: sent to the server, it would close the
// consumer's channel (PRECONDITION_FAILED, unknown delivery tag) and with it
// every other delivery of that consumer.
var errSettled = errors.New("delivery already acknowledged or requeued")

// Broker is the RabbitMQ driver of [broker.Broker]. It keeps two connections
// to the server, one for publishing and one for consuming, and reconnects
// them when they are lost (see the package doc).
//
// Broker is safe for concurrent use. Create it with New; the zero value is
// not usable.
type Broker struct {
	cfg    Config
	logger *slog.Logger

	pub *session // the publishing connection
	sub *session // the consuming connection (also used by Depth and DeleteQueue)

	poolMu sync.Mutex
	idle   []*pubChannel // confirm-mode channels free for the next Publish

	mu        sync.Mutex     // guards closed and consumers.Add
	closed    bool           // set by Close
	done      chan struct{}  // closed by Close: publishers and consumers stop
	consumers sync.WaitGroup // one per consumer goroutine
	stop      context.CancelFunc
	keepers   sync.WaitGroup // the two connection keepers
	closeOnce sync.Once
}

// New connects to the server at cfg.URL twice (publishing and consuming use
// separate connections), declares the queue and returns a Broker that keeps
// both connections open until Close. ctx bounds the connecting; it is not
// used afterwards. New returns an error if cfg is invalid, the server can't
// be reached, or the queue exists with other properties (say, as a classic
// queue).
func New(ctx context.Context, cfg Config) (*Broker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pubConn, pubNet, err := dial(ctx, cfg.URL, "pacer publish")
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: open the publish connection: %w", err)
	}
	if err := declareOn(pubConn, cfg.Queue); err != nil {
		_ = pubConn.Close()
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	subConn, subNet, err := dial(ctx, cfg.URL, "pacer consume")
	if err != nil {
		_ = pubConn.Close()
		return nil, fmt.Errorf("rabbitmq: open the consume connection: %w", err)
	}

	// The keepers outlive New's ctx (but keep its values); Close ends them.
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	b := &Broker{
		cfg:    cfg,
		logger: cfg.Logger,
		pub:    newSession(connPublish, pubConn, pubNet),
		sub:    newSession(connConsume, subConn, subNet),
		done:   make(chan struct{}),
		stop:   stop,
	}
	b.keepers.Go(func() { b.keep(life, b.pub) })
	b.keepers.Go(func() { b.keep(life, b.sub) })
	return b, nil
}

// Publish sends each task id as a persistent message and returns when the
// server has confirmed every one of them. Every id must be positive; if one
// is not, Publish sends none of them and returns an error.
//
// If the publishing connection is down, Publish first waits for the
// reconnection, for as long as ctx allows. It returns an error if ctx ends,
// the connection or channel fails before every confirm has arrived, the
// server nacks a message or returns it as unroutable (the queue is missing);
// some ids may have been enqueued then, and the caller publishes them all
// again. After Close it returns [broker.ErrClosed].
func (b *Broker) Publish(ctx context.Context, taskIDs ...int64) error {
	for _, id := range taskIDs {
		if id < 1 {
			return fmt.Errorf("publish: task id %d is not positive", id)
		}
	}
	if b.isClosed() {
		return fmt.Errorf("publish: %w", broker.ErrClosed)
	}
	if len(taskIDs) == 0 {
		return nil
	}
	pc, err := b.pubChannel(ctx)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := b.publishOn(ctx, pc, taskIDs); err != nil {
		pc.discard()
		if b.isClosed() && !errors.Is(err, broker.ErrClosed) {
			return fmt.Errorf("publish: %w (%w)", broker.ErrClosed, err)
		}
		return fmt.Errorf("publish: %w", err)
	}
	b.putPubChannel(pc)
	return nil
}

// pubChannel is a confirm-mode channel on the publishing connection, used by
// one Publish at a time.
type pubChannel struct {
	conn *amqp.Connection
	ch   *amqp.Channel
	// returns receives unroutable mandatory messages. The library sends to
	// it from its reader goroutine, so its capacity is publishWindow, the
	// most messages a channel has published and not yet checked for a
	// return (see publishOn): it never fills, and never stalls the
	// connection.
	returns chan amqp.Return
	closes  chan *amqp.Error // the channel's close reason; capacity 1
}

// pubChannel takes an idle channel of the current publishing connection, or
// opens one.
func (b *Broker) pubChannel(ctx context.Context) (*pubChannel, error) {
	conn, err := b.pub.wait(ctx, b.done)
	if err != nil {
		return nil, err
	}
	b.poolMu.Lock()
	for len(b.idle) > 0 {
		pc := b.idle[len(b.idle)-1]
		b.idle = b.idle[:len(b.idle)-1]
		// A channel of a lost connection died with it: drop it.
		if pc.conn == conn && !pc.ch.IsClosed() {
			b.poolMu.Unlock()
			return pc, nil
		}
	}
	b.poolMu.Unlock()

	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open a publishing channel: %w", err)
	}
	pc := &pubChannel{
		conn:    conn,
		ch:      ch,
		returns: ch.NotifyReturn(make(chan amqp.Return, publishWindow)),
		closes:  ch.NotifyClose(make(chan *amqp.Error, 1)),
	}
	if err := ch.Confirm(false /* noWait */); err != nil {
		pc.discard()
		return nil, fmt.Errorf("put the publishing channel in confirm mode: %w", err)
	}
	// Declared on every new channel so that a queue deleted while pacer
	// runs comes back at the next Publish.
	if err := declare(ch, b.cfg.Queue); err != nil {
		pc.discard()
		return nil, err
	}
	return pc, nil
}

// putPubChannel keeps pc for the next Publish, or closes it if enough are
// kept already.
func (b *Broker) putPubChannel(pc *pubChannel) {
	b.poolMu.Lock()
	if len(b.idle) < maxIdleChannels && !b.isClosed() {
		b.idle = append(b.idle, pc)
		b.poolMu.Unlock()
		return
	}
	b.poolMu.Unlock()
	pc.discard()
}

// discard closes pc. It can't block on the returns channel, which never
// fills.
func (pc *pubChannel) discard() {
	_ = pc.ch.Close()
}

// pendingConfirm is a published message whose confirm is awaited.
type pendingConfirm struct {
	id int64
	dc *amqp.DeferredConfirmation
}

// publishOn publishes ids on pc and waits for their confirms, keeping at
// most publishWindow unconfirmed at once.
//
// A mandatory message that can't be routed comes back as a basic.return,
// which the server sends before that message's basic.ack, and which the
// library hands to pc.returns before it processes the ack. So once a
// message's confirm is seen, its return, if any, is already in pc.returns,
// and checking pc.returns after each confirm catches every return. The same
// check means pc.returns only ever holds returns of messages still pending
// here, of which there are at most publishWindow.
func (b *Broker) publishOn(ctx context.Context, pc *pubChannel, ids []int64) error {
	pending := make([]pendingConfirm, 0, min(len(ids), publishWindow))
	for _, id := range ids {
		if len(pending) == publishWindow {
			if err := b.confirmed(ctx, pc, pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, "", b.cfg.Queue,
			true,  // mandatory: an unroutable message is returned, not dropped
			false, // immediate: not supported by RabbitMQ
			amqp.Publishing{
				DeliveryMode: amqp.Persistent,
				ContentType:  "text/plain",
				Body:         broker.EncodeTaskID(id),
			})
		if err != nil {
			return fmt.Errorf("task %d: %w", id, err)
		}
		pending = append(pending, pendingConfirm{id: id, dc: dc})
	}
	for _, p := range pending {
		if err := b.confirmed(ctx, pc, p); err != nil {
			return err
		}
	}
	return nil
}

// confirmed waits for the confirm of p and reports an error unless the
// server acked it and returned nothing.
func (b *Broker) confirmed(ctx context.Context, pc *pubChannel, p pendingConfirm) error {
	select {
	case <-p.dc.Done():
	case r, ok := <-pc.returns:
		return pc.returned(p, r, ok, b.cfg.Queue)
	case <-ctx.Done():
		return fmt.Errorf("wait for the confirm of task %d: %w", p.id, ctx.Err())
	case <-b.done:
		return broker.ErrClosed
	}
	select {
	case r, ok := <-pc.returns:
		return pc.returned(p, r, ok, b.cfg.Queue)
	default:
	}
	if p.dc.Acked() {
		return nil
	}
	// The library settles the confirms of a channel that closes as nacks.
	if pc.ch.IsClosed() {
		return pc.closedBefore(p)
	}
	return fmt.Errorf("task %d: rabbitmq nacked the message", p.id)
}

// returned turns a receive from pc.returns into an error. The library
// closes that channel when the channel closes.
func (pc *pubChannel) returned(p pendingConfirm, r amqp.Return, ok bool, queue string) error {
	if !ok {
		return pc.closedBefore(p)
	}
	return fmt.Errorf("task %s: returned as unroutable (%d %s): queue %q is missing",
		r.Body, r.ReplyCode, r.ReplyText, queue)
}

// closedBefore is the error for a channel that closed before p's confirm.
func (pc *pubChannel) closedBefore(p pendingConfirm) error {
	select {
	case reason, ok := <-pc.closes:
		if ok && reason != nil {
			return fmt.Errorf("task %d: channel closed before its confirm: %w", p.id, reason)
		}
	default:
	}
	return fmt.Errorf("task %d: channel closed before its confirm: %w", p.id, amqp.ErrClosed)
}

// Consume starts a consumer with its own channel and Qos(prefetch), which
// holds at most prefetch unacknowledged deliveries; prefetch must be at
// least 1. Consume waits for the consuming connection if it is down, for as
// long as ctx allows, and returns an error if the first subscription fails.
//
// The returned channel stays open across reconnections: when the connection
// or the consumer's channel is lost, the consumer subscribes again (with
// backoff while that fails) and goes on sending on the same channel. It is
// closed when ctx ends or the broker is closed; the consumer's channel is
// closed then, so the server requeues what the consumer held, and their Ack
// returns an error. After Close, Consume returns [broker.ErrClosed].
//
// A message whose body is not a task id is logged at Warn and rejected
// without requeue: it is not pacer's and would only come back.
func (b *Broker) Consume(ctx context.Context, prefetch int) (<-chan broker.Delivery, error) {
	if prefetch < 1 {
		return nil, fmt.Errorf("consume: prefetch %d is below 1", prefetch)
	}
	if b.isClosed() {
		return nil, fmt.Errorf("consume: %w", broker.ErrClosed)
	}
	conn, err := b.sub.wait(ctx, b.done)
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	s, err := b.subscribe(conn, prefetch)
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	out := make(chan broker.Delivery)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.close()
		return nil, fmt.Errorf("consume: %w", broker.ErrClosed)
	}
	// Added under mu, which Close takes before it waits, so no Add can race
	// with the Wait.
	b.consumers.Add(1)
	go b.consume(ctx, prefetch, s, out)
	return out, nil
}

// subscription is a consumer's channel and the deliveries coming on it.
type subscription struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
	closes     chan *amqp.Error // the channel's close reason; capacity 1
}

// subscribe opens a channel on conn, declares the queue, sets Qos and starts
// consuming.
func (b *Broker) subscribe(conn *amqp.Connection, prefetch int) (*subscription, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open a consuming channel: %w", err)
	}
	s := &subscription{conn: conn, ch: ch, closes: ch.NotifyClose(make(chan *amqp.Error, 1))}
	// Per consumer (global false): quorum queues support only that.
	if err := ch.Qos(prefetch, 0 /* prefetchSize */, false /* global */); err != nil {
		s.close()
		return nil, fmt.Errorf("set prefetch %d: %w", prefetch, err)
	}
	if err := declare(ch, b.cfg.Queue); err != nil {
		s.close()
		return nil, err
	}
	s.deliveries, err = ch.Consume(b.cfg.Queue,
		"",    // consumer tag: the library makes a unique one
		false, // autoAck: acknowledged by the worker after its store commit
		false, // exclusive: every worker consumes from the one queue
		false, // noLocal: not supported by RabbitMQ
		false, // noWait
		nil)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("consume from queue %q: %w", b.cfg.Queue, err)
	}
	return s, nil
}

// close closes the channel; the server requeues what it held unacknowledged.
func (s *subscription) close() {
	_ = s.ch.Close()
}

// lost explains why the deliveries channel closed.
func (s *subscription) lost() error {
	select {
	case reason, ok := <-s.closes:
		if ok && reason != nil {
			return fmt.Errorf("consuming channel closed: %w", reason)
		}
		return errors.New("consuming channel closed")
	default:
		// The channel is open: the server cancelled the consumer, as it
		// does when the queue is deleted.
		return errors.New("consumer cancelled by the server")
	}
}

// consume forwards deliveries from s, and from the subscriptions that
// replace it, to out until ctx ends or the broker closes.
func (b *Broker) consume(ctx context.Context, prefetch int, s *subscription, out chan<- broker.Delivery) {
	defer b.consumers.Done()
	defer close(out)

	// attempt counts resubscriptions that failed, or that got nothing
	// before they were lost, so that a channel that keeps dying on a live
	// connection is retried with backoff, not in a tight loop.
	attempt := 0
	var last error
	for {
		if s == nil {
			// A connection may be at hand even after ctx ended: don't
			// subscribe (and redeclare the queue) for nothing.
			if ctx.Err() != nil || b.isClosed() {
				return
			}
			if attempt > 0 {
				wait := backoff(attempt, b.cfg.ReconnectMin, b.cfg.ReconnectMax)
				b.logger.WarnContext(ctx, "resubscribing to rabbitmq",
					"queue", b.cfg.Queue, "attempt", attempt, "wait", wait, "err", last)
				if !b.sleep(ctx, wait) {
					return
				}
			}
			conn, err := b.sub.wait(ctx, b.done)
			if err != nil {
				return
			}
			if s, err = b.subscribe(conn, prefetch); err != nil {
				attempt++
				last = err
				continue
			}
		}
		delivered, lost := b.forward(ctx, s, out)
		s.close()
		if lost == nil {
			return
		}
		switch {
		case s.conn.IsClosed():
			// The keeper logs the loss and reconnects with backoff;
			// subscribe again as soon as it has.
			attempt = 0
		case delivered:
			attempt = 1
		default:
			attempt++
		}
		last = lost
		s = nil
	}
}

// forward sends the deliveries of s to out. It returns a nil error when ctx
// ends or the broker closes, and why s was lost otherwise; delivered reports
// whether anything came on s.
func (b *Broker) forward(ctx context.Context, s *subscription, out chan<- broker.Delivery) (delivered bool, lost error) {
	for {
		var msg amqp.Delivery
		var ok bool
		select {
		case msg, ok = <-s.deliveries:
		case <-ctx.Done():
			return delivered, nil
		case <-b.done:
			return delivered, nil
		}
		if !ok {
			return delivered, s.lost()
		}
		delivered = true
		id, err := broker.DecodeTaskID(msg.Body)
		if err != nil {
			b.reject(ctx, msg, err)
			continue
		}
		select {
		case out <- &delivery{msg: msg, id: id}:
		case <-ctx.Done():
			return delivered, nil
		case <-b.done:
			return delivered, nil
		}
	}
}

// reject drops a message that is not a task, for good.
func (b *Broker) reject(ctx context.Context, msg amqp.Delivery, reason error) {
	attrs := []any{"queue", b.cfg.Queue, "err", reason}
	if err := msg.Reject(false /* requeue */); err != nil {
		// Its channel is gone: it comes back, and is rejected then.
		attrs = append(attrs, "reject_err", err)
	}
	b.logger.WarnContext(ctx, "rejected a message that is not a task id", attrs...)
}

// sleep waits d, and reports false if ctx ended or the broker closed first.
func (b *Broker) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-b.done:
		return false
	}
}

// delivery is a message received by a consumer.
type delivery struct {
	msg     amqp.Delivery
	id      int64
	settled atomic.Bool
}

// TaskID implements [broker.Delivery].
func (d *delivery) TaskID() int64 { return d.id }

// Redelivered implements [broker.Delivery], with the server's redelivered
// flag: set for a message requeued, or held by a consumer whose channel
// closed.
func (d *delivery) Redelivered() bool { return d.msg.Redelivered }

// Ack implements [broker.Delivery]. It returns an error if the delivery was
// settled before or its channel is gone (after a reconnection, or once the
// consumer's ctx ended); then the server redelivers the message.
func (d *delivery) Ack() error {
	if !d.settled.CompareAndSwap(false, true) {
		return fmt.Errorf("ack task %d: %w", d.id, errSettled)
	}
	if err := d.msg.Ack(false /* multiple */); err != nil {
		return fmt.Errorf("ack task %d: %w", d.id, err)
	}
	return nil
}

// Requeue implements [broker.Delivery] with a nack that requeues: the server
// delivers the message again, marked redelivered. Errors are those of Ack.
func (d *delivery) Requeue() error {
	if !d.settled.CompareAndSwap(false, true) {
		return fmt.Errorf("requeue task %d: %w", d.id, errSettled)
	}
	if err := d.msg.Nack(false /* multiple */, true /* requeue */); err != nil {
		return fmt.Errorf("requeue task %d: %w", d.id, err)
	}
	return nil
}

// Close stops every consumer (their channels close, and the server requeues
// what they held), closes both connections and waits for every goroutine of
// the broker. A connection that doesn't answer is abandoned after 5 seconds. A Publish in flight returns an error wrapping
// [broker.ErrClosed]. Close is safe to call more than once and from several
// goroutines; only the first call reports an error, from closing the
// connections, and nothing is lost when it does.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.done)
		b.mu.Unlock()
		// Consumers and publishers stop on done; each consumer closes its
		// channel. The connections close meanwhile, with a deadline, and
		// that also ends any channel close stuck on a dead connection.
		b.stop()
		b.keepers.Wait()
		b.consumers.Wait()
		b.poolMu.Lock()
		b.idle = nil
		b.poolMu.Unlock()
		err = errors.Join(b.pub.closeErr, b.sub.closeErr)
	})
	return err
}

func (b *Broker) isClosed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Depth reports the queue's ready messages (not counting those delivered
// and unacknowledged) and its consumers, for metrics. ctx bounds the wait
// for the connection if it is down. After Close it returns
// [broker.ErrClosed].
func (b *Broker) Depth(ctx context.Context) (ready int, consumers int, err error) {
	err = b.onTempChannel(ctx, func(ch *amqp.Channel) error {
		// Passive: a missing queue is an error, not created.
		q, err := ch.QueueDeclarePassive(b.cfg.Queue, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("inspect queue %q: %w", b.cfg.Queue, err)
		}
		ready, consumers = q.Messages, q.Consumers
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("queue depth: %w", err)
	}
	return ready, consumers, nil
}

// DeleteQueue deletes the broker's queue and the messages in it, whatever
// its consumers: tests use it to clean up their uniquely named queues. A
// later Publish or reconnection declares the queue again. ctx bounds the
// wait for the connection if it is down. After Close it returns
// [broker.ErrClosed].
func (b *Broker) DeleteQueue(ctx context.Context) error {
	err := b.onTempChannel(ctx, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(b.cfg.Queue, false /* ifUnused */, false /* ifEmpty */, false /* noWait */)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete queue %q: %w", b.cfg.Queue, err)
	}
	return nil
}

// onTempChannel runs fn on a new channel of the consuming connection, which
// publishers' flow control never blocks, and closes the channel.
func (b *Broker) onTempChannel(ctx context.Context, fn func(*amqp.Channel) error) error {
	if b.isClosed() {
		return broker.ErrClosed
	}
	conn, err := b.sub.wait(ctx, b.done)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	defer func() { _ = ch.Close() }()
	return fn(ch)
}

// queueArgs are the arguments of pacer's queues.
func queueArgs() amqp.Table {
	return amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}
}

// declare declares the durable quorum queue name on ch. The declaration is
// idempotent; it fails (and closes ch) if the queue exists with other
// properties.
func declare(ch *amqp.Channel, name string) error {
	_, err := ch.QueueDeclare(name,
		true,  // durable: quorum queues must be
		false, // autoDelete
		false, // exclusive
		false, // noWait
		queueArgs())
	if err != nil {
		return fmt.Errorf("declare quorum queue %q: %w", name, err)
	}
	return nil
}

// declareOn declares the queue on a channel of its own.
func declareOn(conn *amqp.Connection, name string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	if err := declare(ch, name); err != nil {
		return err
	}
	return ch.Close()
}
