package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// probeWindow is how many deferred confirms ProbeRoundTrip keeps
	// outstanding; it matches Publish's publishWindow.
	probeWindow = publishWindow
	// probePrefetch is the probe consumer's Qos: a busy pacer worker pool.
	probePrefetch = 64
	// probeExpiry makes the server delete a probe queue left unused this
	// long, should the probe die before deleting it itself.
	probeExpiry = time.Minute
)

// ProbeRoundTrip measures how many messages per second the RabbitMQ server
// at url carries through pacer's path: durable quorum queue, persistent
// messages, publisher confirms, manual acks. `pacer bench` reports it as the
// machine's raw RabbitMQ limit, the ceiling for any pacer throughput.
//
// It declares a uniquely named quorum queue ("pacer.probe.<random>", set to
// expire after a minute unused in case the probe dies), and on two separate
// connections at once publishes n empty persistent messages and consumes and
// acknowledges them one by one with prefetch 64. Confirms are awaited as
// deferred confirmations in a sliding window of 256 outstanding messages,
// as Publish does, which is representative of pacer's batched publishing: a
// publisher that waited for each confirm before the next message would
// measure the round-trip latency instead (on loopback, about a sixth of
// this rate). It then deletes the queue and returns n divided by the seconds
// from the first publish to the last ack.
//
// n must be at least 1. ctx bounds the whole probe; when it ends, the probe
// stops, deletes its queue and returns ctx's error.
func ProbeRoundTrip(ctx context.Context, url string, n int) (perSecond float64, err error) {
	if n < 1 {
		return 0, fmt.Errorf("probe rabbitmq: n %d is below 1", n)
	}
	if err := validateURL(url); err != nil {
		return 0, fmt.Errorf("probe rabbitmq: %w", err)
	}
	pubConn, _, err := dial(ctx, url, "pacer probe publish")
	if err != nil {
		return 0, fmt.Errorf("probe rabbitmq: open the publish connection: %w", err)
	}
	defer func() { _ = pubConn.Close() }()
	subConn, _, err := dial(ctx, url, "pacer probe consume")
	if err != nil {
		return 0, fmt.Errorf("probe rabbitmq: open the consume connection: %w", err)
	}
	defer func() { _ = subConn.Close() }()

	queue := "pacer.probe." + uniqueSuffix()
	pch, err := pubConn.Channel()
	if err != nil {
		return 0, fmt.Errorf("probe rabbitmq: open a channel: %w", err)
	}
	args := queueArgs()
	args[amqp.QueueTTLArg] = probeExpiry.Milliseconds()
	if _, err := pch.QueueDeclare(queue, true, false, false, false, args); err != nil {
		return 0, fmt.Errorf("probe rabbitmq: declare quorum queue %q: %w", queue, err)
	}
	defer func() {
		if derr := deleteProbeQueue(pubConn, queue); derr != nil {
			err = errors.Join(err, fmt.Errorf("probe rabbitmq: %w", derr))
		}
	}()
	if err := pch.Confirm(false /* noWait */); err != nil {
		return 0, fmt.Errorf("probe rabbitmq: put the channel in confirm mode: %w", err)
	}

	sch, err := subConn.Channel()
	if err != nil {
		return 0, fmt.Errorf("probe rabbitmq: open a channel: %w", err)
	}
	if err := sch.Qos(probePrefetch, 0, false); err != nil {
		return 0, fmt.Errorf("probe rabbitmq: set prefetch: %w", err)
	}
	deliveries, err := sch.Consume(queue, "", false /* autoAck */, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("probe rabbitmq: consume: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first failure stops the other side; it is the one reported.
	var (
		failOnce sync.Once
		failure  error
	)
	fail := func(err error) {
		failOnce.Do(func() {
			failure = err
			cancel()
		})
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := probeConsume(ctx, deliveries, n); err != nil {
			fail(err)
		}
	})
	if err := probePublish(ctx, pch, queue, n); err != nil {
		fail(err)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failure != nil {
		return 0, fmt.Errorf("probe rabbitmq: %w", failure)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// probePublish publishes n empty persistent messages to queue, keeping at
// most probeWindow unconfirmed.
func probePublish(ctx context.Context, ch *amqp.Channel, queue string, n int) error {
	pending := make([]*amqp.DeferredConfirmation, 0, min(n, probeWindow))
	wait := func(dc *amqp.DeferredConfirmation) error {
		acked, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("wait for a confirm: %w", err)
		}
		if !acked {
			return errors.New("publish: message nacked or channel closed")
		}
		return nil
	}
	for range n {
		if len(pending) == probeWindow {
			if err := wait(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent})
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		pending = append(pending, dc)
	}
	for _, dc := range pending {
		if err := wait(dc); err != nil {
			return err
		}
	}
	return nil
}

// probeConsume acknowledges n deliveries, one by one.
func probeConsume(ctx context.Context, deliveries <-chan amqp.Delivery, n int) error {
	for got := 0; got < n; got++ {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("consume: channel closed after %d of %d messages", got, n)
			}
			if err := d.Ack(false); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		case <-ctx.Done():
			return fmt.Errorf("consume: %d of %d messages: %w", got, n, ctx.Err())
		}
	}
	return nil
}

// deleteProbeQueue deletes the probe's queue on a fresh channel, since the
// probe's own may have died with its error.
func deleteProbeQueue(conn *amqp.Connection, queue string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("delete queue %q: open a channel: %w", queue, err)
	}
	defer func() { _ = ch.Close() }()
	if _, err := ch.QueueDelete(queue, false, false, false); err != nil {
		return fmt.Errorf("delete queue %q: %w", queue, err)
	}
	return nil
}

// uniqueSuffix returns 16 random hex digits.
func uniqueSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
