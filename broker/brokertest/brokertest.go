// Package brokertest is the conformance suite every [broker.Broker] driver
// must pass: [Run] checks the behaviour the contract in package broker
// promises, so that nothing above the broker needs to know which driver it
// has. Both drivers (rabbitmq and inproc) run it from their tests.
//
// brokertest owns no driver: it imports only the standard library, testing
// and its parent package broker, never a driver or another pacer package.
package brokertest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pacerhq/pacer/broker"
)

const (
	// patience bounds every wait for something that must happen. It is
	// generous so that a slow CI machine doesn't fail; a passing run never
	// waits that long.
	patience = 10 * time.Second
	// quiet is how long a test waits to conclude that nothing more arrives
	// (after a prefetch bound is reached, or once a queue is drained). A
	// broken driver delivers within a few milliseconds on loopback, so a
	// quarter second is ample, and the only waits of this suite that end by
	// a timer are these.
	quiet = 250 * time.Millisecond
)

// Run runs the conformance suite. Each test calls newBroker for a fresh,
// empty broker of its own (for RabbitMQ: a uniquely named queue) and runs in
// parallel with the others. newBroker must register the broker's cleanup
// with t.Cleanup (Close, and for RabbitMQ deleting the queue); tests close the
// broker themselves too when they need to, so that cleanup must tolerate a
// closed broker.
func Run(t *testing.T, newBroker func(t testing.TB) broker.Broker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b broker.Broker)
	}{
		{"DeliversEveryID", testDeliversEveryID},
		{"AckRemoves", testAckRemoves},
		{"RequeueRedelivers", testRequeueRedelivers},
		{"SettleTwice", testSettleTwice},
		{"PrefetchBound", testPrefetchBound},
		{"CancelReturnsUnacked", testCancelReturnsUnacked},
		{"ConsumersShareWork", testConsumersShareWork},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"InvalidArguments", testInvalidArguments},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newBroker(t))
		})
	}
}

// testDeliversEveryID publishes more ids than the RabbitMQ driver keeps
// unconfirmed at once, and checks each arrives once.
func testDeliversEveryID(t *testing.T, b broker.Broker) {
	ids := seq(1, 600)
	publish(t, b, ids...)
	ch := consume(t, t.Context(), b, 16)
	got := make([]int64, 0, len(ids))
	for range ids {
		d := receive(t, ch)
		ack(t, d)
		got = append(got, d.TaskID())
	}
	sameIDs(t, got, ids)
	nothingMore(t, ch)
}

// testAckRemoves checks that an acknowledged message is gone: a second
// consumer, started after the first has ended, gets only what was published
// later.
func testAckRemoves(t *testing.T, b broker.Broker) {
	publish(t, b, 1)
	ctx, cancel := context.WithCancel(t.Context())
	first := consume(t, ctx, b, 1)
	d := receive(t, first)
	if d.TaskID() != 1 {
		t.Fatalf("first delivery: task %d, want 1", d.TaskID())
	}
	ack(t, d)
	cancel()
	closed(t, first)

	publish(t, b, 2)
	second := consume(t, t.Context(), b, 4)
	if d := receive(t, second); d.TaskID() != 2 {
		t.Fatalf("after ack: task %d delivered, want only 2", d.TaskID())
	}
	nothingMore(t, second)
}

// testRequeueRedelivers checks Requeue and the redelivered mark.
func testRequeueRedelivers(t *testing.T, b broker.Broker) {
	publish(t, b, 7)
	ch := consume(t, t.Context(), b, 1)
	d := receive(t, ch)
	if d.TaskID() != 7 || d.Redelivered() {
		t.Fatalf("first delivery: task %d redelivered %v, want task 7 redelivered false", d.TaskID(), d.Redelivered())
	}
	if err := d.Requeue(); err != nil {
		t.Fatalf("requeue: %v", err)
	}
	d = receive(t, ch)
	if d.TaskID() != 7 || !d.Redelivered() {
		t.Fatalf("after requeue: task %d redelivered %v, want task 7 redelivered true", d.TaskID(), d.Redelivered())
	}
	ack(t, d)
	nothingMore(t, ch)
}

// testSettleTwice checks that a second Ack or Requeue of one delivery is
// refused and harms neither that message nor the consumer's others.
func testSettleTwice(t *testing.T, b broker.Broker) {
	publish(t, b, 1, 2)
	ch := consume(t, t.Context(), b, 2)
	first, second := receive(t, ch), receive(t, ch)
	ack(t, first)
	if err := first.Ack(); err == nil {
		t.Fatal("second ack of one delivery: no error")
	}
	if err := first.Requeue(); err == nil {
		t.Fatal("requeue after ack: no error")
	}
	// The consumer still works: its other delivery can be acknowledged,
	// and nothing comes back.
	ack(t, second)
	nothingMore(t, ch)
}

// testPrefetchBound checks that a consumer never holds more than prefetch
// unacknowledged deliveries.
func testPrefetchBound(t *testing.T, b broker.Broker) {
	ids := seq(1, 5)
	publish(t, b, ids...)
	ch := consume(t, t.Context(), b, 3)
	var held []broker.Delivery
	var got []int64
	take := func() {
		t.Helper()
		d := receive(t, ch)
		held = append(held, d)
		got = append(got, d.TaskID())
	}
	for range 3 {
		take()
	}
	nothingMore(t, ch)

	// Each ack makes room for exactly one more.
	for range 2 {
		ack(t, held[0])
		held = held[1:]
		take()
		nothingMore(t, ch)
	}
	for _, d := range held {
		ack(t, d)
	}
	sameIDs(t, got, ids)
}

// testCancelReturnsUnacked checks that what a consumer holds when its
// context ends goes to another consumer, marked redelivered, and that a late
// Ack of it neither succeeds nor removes it.
func testCancelReturnsUnacked(t *testing.T, b broker.Broker) {
	ids := []int64{1, 2, 3}
	publish(t, b, ids...)
	ctx, cancel := context.WithCancel(t.Context())
	first := consume(t, ctx, b, 3)
	var held []broker.Delivery
	for range ids {
		held = append(held, receive(t, first))
	}
	// Started before the cancel: it must be woken by the return.
	second := consume(t, t.Context(), b, 3)
	nothingMore(t, second)

	cancel()
	closed(t, first)
	if err := held[0].Ack(); err == nil {
		t.Fatal("ack after the consumer's context ended: no error")
	}

	var got []int64
	for range ids {
		d := receive(t, second)
		if !d.Redelivered() {
			t.Errorf("task %d: returned delivery not marked redelivered", d.TaskID())
		}
		ack(t, d)
		got = append(got, d.TaskID())
	}
	sameIDs(t, got, ids)
	nothingMore(t, second)
}

// testConsumersShareWork runs two consumers on one queue and checks that
// both get work and every id goes to exactly one of them. No delivery is
// acknowledged until each consumer has one, so a driver that feeds only one
// consumer is caught by its prefetch bound rather than by luck.
func testConsumersShareWork(t *testing.T, b broker.Broker) {
	chans := [2]<-chan broker.Delivery{
		consume(t, t.Context(), b, 5),
		consume(t, t.Context(), b, 5),
	}
	ids := seq(1, 100)
	publish(t, b, ids...)

	owner := map[int64]int{}
	var count [2]int
	var waiting []broker.Delivery
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for len(owner) < len(ids) {
		var d broker.Delivery
		var ok bool
		var c int
		select {
		case d, ok = <-chans[0]:
		case d, ok = <-chans[1]:
			c = 1
		case <-timeout.C:
			t.Fatalf("received %d of %d ids in %v (consumer counts %v)", len(owner), len(ids), patience, count)
		}
		if !ok {
			t.Fatalf("consumer %d: channel closed", c)
		}
		if prev, dup := owner[d.TaskID()]; dup {
			t.Fatalf("task %d delivered to consumer %d and again to consumer %d", d.TaskID(), prev, c)
		}
		owner[d.TaskID()] = c
		count[c]++
		waiting = append(waiting, d)
		if count[0] > 0 && count[1] > 0 {
			for _, w := range waiting {
				ack(t, w)
			}
			waiting = waiting[:0]
		}
	}
	sameIDs(t, keys(owner), ids)
	nothingMore(t, chans[0])
	nothingMore(t, chans[1])
}

// testConcurrentPublishers publishes from several goroutines at once, one id
// at a time and in batches, and checks every id arrives once.
func testConcurrentPublishers(t *testing.T, b broker.Broker) {
	const publishers, each = 8, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			ids := seq(int64(p*each+1), each)
			if p%2 == 0 {
				for _, id := range ids {
					if err := b.Publish(t.Context(), id); err != nil {
						t.Errorf("publisher %d: publish %d: %v", p, id, err)
						return
					}
				}
				return
			}
			for chunk := range slices.Chunk(ids, 7) {
				if err := b.Publish(t.Context(), chunk...); err != nil {
					t.Errorf("publisher %d: publish %v: %v", p, chunk, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	want := seq(1, publishers*each)
	ch := consume(t, t.Context(), b, 32)
	got := make([]int64, 0, len(want))
	for range want {
		d := receive(t, ch)
		ack(t, d)
		got = append(got, d.TaskID())
	}
	sameIDs(t, got, want)
	nothingMore(t, ch)
}

// testInvalidArguments checks the arguments the contract refuses, and that
// publishing nothing is fine.
func testInvalidArguments(t *testing.T, b broker.Broker) {
	if err := b.Publish(t.Context()); err != nil {
		t.Fatalf("publish no ids: %v", err)
	}
	for _, id := range []int64{0, -1} {
		if err := b.Publish(t.Context(), 5, id); err == nil {
			t.Errorf("publish task id %d: no error", id)
		}
	}
	for _, prefetch := range []int{0, -1} {
		if _, err := b.Consume(t.Context(), prefetch); err == nil {
			t.Errorf("consume with prefetch %d: no error", prefetch)
		}
	}
	// A refused Publish sends none of its ids, not even the valid ones
	// before the invalid one.
	publish(t, b, 6)
	ch := consume(t, t.Context(), b, 4)
	if d := receive(t, ch); d.TaskID() != 6 {
		t.Fatalf("task %d delivered, want only 6", d.TaskID())
	}
	nothingMore(t, ch)
}

// testClosed checks Close: it ends running consumers, later calls fail with
// broker.ErrClosed, and closing twice is fine.
func testClosed(t *testing.T, b broker.Broker) {
	ch := consume(t, t.Context(), b, 1)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed(t, ch)
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := b.Publish(t.Context(), 1); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("publish after close: %v, want ErrClosed", err)
	}
	if _, err := b.Consume(t.Context(), 1); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("consume after close: %v, want ErrClosed", err)
	}
}

// seq returns n consecutive ids starting at first.
func seq(first int64, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	return ids
}

func publish(t testing.TB, b broker.Broker, ids ...int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := b.Publish(ctx, ids...); err != nil {
		t.Fatalf("publish %d ids: %v", len(ids), err)
	}
}

func consume(t testing.TB, ctx context.Context, b broker.Broker, prefetch int) <-chan broker.Delivery {
	t.Helper()
	ch, err := b.Consume(ctx, prefetch)
	if err != nil {
		t.Fatalf("consume with prefetch %d: %v", prefetch, err)
	}
	return ch
}

// receive waits for the next delivery on ch.
func receive(t testing.TB, ch <-chan broker.Delivery) broker.Delivery {
	t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("receive: consumer channel closed")
		}
		return d
	case <-timeout.C:
		t.Fatalf("receive: nothing delivered in %v", patience)
		return nil
	}
}

// nothingMore checks that nothing arrives on ch for the quiet period.
func nothingMore(t testing.TB, ch <-chan broker.Delivery) {
	t.Helper()
	timeout := time.NewTimer(quiet)
	defer timeout.Stop()
	select {
	case d, ok := <-ch:
		if !ok {
			t.Fatal("consumer channel closed, want it open and idle")
		}
		t.Fatalf("task %d (redelivered %v) delivered, want nothing more", d.TaskID(), d.Redelivered())
	case <-timeout.C:
	}
}

// closed waits for ch to be closed. A delivery still in flight when its
// consumer ended may arrive first; it is left unacknowledged, as the
// consumer's owner would.
func closed(t testing.TB, ch <-chan broker.Delivery) {
	t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout.C:
			t.Fatalf("consumer channel still open after %v", patience)
		}
	}
}

func ack(t testing.TB, d broker.Delivery) {
	t.Helper()
	if err := d.Ack(); err != nil {
		t.Fatalf("ack task %d: %v", d.TaskID(), err)
	}
}

// sameIDs checks that got holds exactly the ids of want, each once, in any
// order.
func sameIDs(t testing.TB, got, want []int64) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if slices.Equal(got, want) {
		return
	}
	t.Fatalf("delivered ids differ: %d delivered, %d published; missing %v, unexpected or repeated %v",
		len(got), len(want), minus(want, got), minus(got, want))
}

// minus returns the elements of a (sorted) not matched one for one in b
// (sorted), at most 20 of them.
func minus(a, b []int64) []int64 {
	var out []int64
	i, j := 0, 0
	for i < len(a) && len(out) < 20 {
		switch {
		case j < len(b) && a[i] == b[j]:
			i++
			j++
		case j < len(b) && b[j] < a[i]:
			j++
		default:
			out = append(out, a[i])
			i++
		}
	}
	return out
}

func keys(m map[int64]int) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
