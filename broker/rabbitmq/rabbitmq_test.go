package rabbitmq_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/brokertest"
	"github.com/pacerhq/pacer/broker/rabbitmq"
)

// patience bounds every wait for something that must happen.
const patience = 10 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testURL returns the test server's URL from PACER_TEST_AMQP_URL (never the
// runtime PACER_AMQP_URL, so a test can't touch a live broker). Unset, the
// test is skipped, or fails when CI is set.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("PACER_TEST_AMQP_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PACER_TEST_AMQP_URL is not set, and CI must test against RabbitMQ")
		}
		t.Skip("PACER_TEST_AMQP_URL is not set")
	}
	return url
}

var unsafeQueueChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// testQueue returns a queue name unique to this test run.
func testQueue(t testing.TB) string {
	name := unsafeQueueChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 64 {
		name = name[:64]
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "pacer.test." + name + "." + hex.EncodeToString(b[:])
}

// newBroker returns a broker on a queue of its own, with cfg's other fields.
// Cleanup closes it and deletes the queue, with a broker of its own since the
// test may have closed this one.
func newBroker(t testing.TB, cfg rabbitmq.Config) *rabbitmq.Broker {
	t.Helper()
	cfg.URL = testURL(t)
	cfg.Queue = testQueue(t)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	b, err := rabbitmq.New(ctx, cfg)
	if err != nil {
		t.Fatalf("new broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
		// t.Context() is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		cleaner, err := rabbitmq.New(ctx, rabbitmq.Config{URL: cfg.URL, Queue: cfg.Queue})
		if err != nil {
			t.Errorf("clean up queue %s: %v", cfg.Queue, err)
			return
		}
		if err := cleaner.DeleteQueue(ctx); err != nil {
			t.Errorf("clean up: %v", err)
		}
		if err := cleaner.Close(); err != nil {
			t.Errorf("clean up: close: %v", err)
		}
	})
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testURL(t)
	brokertest.Run(t, func(t testing.TB) broker.Broker {
		return newBroker(t, rabbitmq.Config{})
	})
}

// TestQueueAndMessages checks what the server holds: a quorum queue,
// persistent messages, and the counts Depth reports.
func TestQueueAndMessages(t *testing.T) {
	t.Parallel()
	b := newBroker(t, rabbitmq.Config{})
	ctx := t.Context()
	if err := b.Publish(ctx, 11, 12); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ready, consumers, err := b.Depth(ctx); err != nil || ready != 2 || consumers != 0 {
		t.Fatalf("depth after publishing 2: ready %d consumers %d err %v, want 2, 0, nil", ready, consumers, err)
	}

	ch, err := b.Consume(ctx, 1)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	d := receive(t, ch)
	if mode := rabbitmq.DeliveryMode(d); mode != amqp.Persistent {
		t.Errorf("delivery mode %d, want persistent (%d)", mode, amqp.Persistent)
	}
	if ready, consumers, err := b.Depth(ctx); err != nil || ready != 1 || consumers != 1 {
		t.Errorf("depth with one delivery held: ready %d consumers %d err %v, want 1, 1, nil", ready, consumers, err)
	}
	if err := d.Ack(); err != nil {
		t.Fatalf("ack: %v", err)
	}

	// Redeclaring with another queue type fails only if the queue is a
	// quorum queue already: the server checks x-queue-type for equivalence.
	conn, err := amqp.Dial(testURL(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = conn.Close() }()
	for _, tc := range []struct {
		queueType string
		wantCode  int // 0: success
	}{
		{amqp.QueueTypeQuorum, 0},
		{amqp.QueueTypeClassic, amqp.PreconditionFailed},
	} {
		ach, err := conn.Channel()
		if err != nil {
			t.Fatalf("channel: %v", err)
		}
		_, err = ach.QueueDeclare(b.Queue(), true, false, false, false, amqp.Table{amqp.QueueTypeArg: tc.queueType})
		var aerr *amqp.Error
		switch {
		case tc.wantCode == 0 && err != nil:
			t.Errorf("declare %s queue %s: %v, want success", tc.queueType, b.Queue(), err)
		case tc.wantCode != 0 && (!errors.As(err, &aerr) || aerr.Code != tc.wantCode):
			t.Errorf("declare %s queue %s: %v, want code %d", tc.queueType, b.Queue(), err, tc.wantCode)
		}
		_ = ach.Close()
	}
}

// TestSurvivesConnectionDrop breaks both connections under a running
// consumer: consumption resumes on the same channel, what was held comes
// back, later publishes succeed, and nothing is lost.
func TestSurvivesConnectionDrop(t *testing.T) {
	t.Parallel()
	logs := &recorder{}
	b := newBroker(t, rabbitmq.Config{
		Logger:       slog.New(logs),
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond,
	})
	ctx := t.Context()
	if err := b.Publish(ctx, seq(1, 20)...); err != nil {
		t.Fatalf("publish before the drop: %v", err)
	}
	ch, err := b.Consume(ctx, 5)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	acked := map[int64]bool{}
	var held []broker.Delivery
	for range 5 {
		held = append(held, receive(t, ch))
	}
	for _, d := range held[:2] {
		if err := d.Ack(); err != nil {
			t.Fatalf("ack before the drop: %v", err)
		}
		acked[d.TaskID()] = true
	}

	dropCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := b.DropConnections(dropCtx); err != nil {
		t.Fatal(err)
	}
	for _, d := range held[2:] {
		if err := d.Ack(); err == nil {
			t.Errorf("ack of task %d after its channel died: no error", d.TaskID())
		}
	}

	// Publish waits for the new connection.
	pubCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := b.Publish(pubCtx, seq(21, 20)...); err != nil {
		t.Fatalf("publish after the drop: %v", err)
	}

	redelivered := 0
	for len(acked) < 40 {
		d := receive(t, ch)
		if d.Redelivered() {
			redelivered++
		}
		if err := d.Ack(); err != nil {
			// Only deliveries of the dead channel may fail, and they come
			// back; count an id only once its ack went through.
			t.Logf("ack task %d: %v", d.TaskID(), err)
			continue
		}
		acked[d.TaskID()] = true
	}
	for id := range int64(40) {
		if !acked[id+1] {
			t.Errorf("task %d never acknowledged", id+1)
		}
	}
	// The three held and unacknowledged at the drop come back at least.
	if redelivered < 3 {
		t.Errorf("%d redelivered deliveries after the drop, want at least 3", redelivered)
	}

	for _, conn := range []string{"publish", "consume"} {
		n := logs.count(slog.LevelWarn, "reconnecting to rabbitmq", func(attrs map[string]slog.Value) bool {
			_, hasAttempt := attrs["attempt"]
			_, hasWait := attrs["wait"]
			return attrs["conn"].String() == conn && hasAttempt && hasWait
		})
		if n == 0 {
			t.Errorf("no Warn %q with attempt and wait logged for the %s connection", "reconnecting to rabbitmq", conn)
		}
	}
}

// TestConfirmedSurviveDropMidPublish drops the connections while a publisher
// is busy: a Publish in flight may fail, but every id of a Publish that
// returned nil is delivered (broker package doc: a message Publish reported
// as sent is never dropped).
func TestConfirmedSurviveDropMidPublish(t *testing.T) {
	t.Parallel()
	b := newBroker(t, rabbitmq.Config{
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond,
	})
	ctx := t.Context()

	const batch, maxIDs, wantAfter = 10, 5000, 5
	var (
		mu        sync.Mutex
		confirmed = map[int64]bool{}
		failed    int
		dropped   = make(chan struct{}) // closed once the drop was noticed
		warm      = make(chan struct{}) // closed after wantAfter successes
		recovered = make(chan struct{}) // closed after wantAfter successes begun after the drop
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	wg.Go(func() {
		before, after := 0, 0
		for next := int64(1); next <= maxIDs; next += batch {
			select {
			case <-stop:
				return
			default:
			}
			afterDrop := isClosed(dropped)
			ids := seq(next, batch)
			pubCtx, cancel := context.WithTimeout(ctx, patience)
			err := b.Publish(pubCtx, ids...)
			cancel()
			mu.Lock()
			if err != nil {
				failed++
			} else {
				for _, id := range ids {
					confirmed[id] = true
				}
			}
			mu.Unlock()
			if err != nil {
				continue
			}
			if before++; before == wantAfter {
				close(warm)
			}
			if afterDrop {
				if after++; after == wantAfter {
					close(recovered)
				}
			}
		}
	})
	stopPublisher := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopPublisher()

	wait(t, warm, "publishes before the drop")
	dropCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := b.DropConnections(dropCtx); err != nil {
		t.Fatal(err)
	}
	close(dropped)
	wait(t, recovered, "publishes after the drop")
	stopPublisher()

	mu.Lock()
	want := maps.Clone(confirmed)
	t.Logf("%d ids confirmed, %d publishes failed", len(want), failed)
	mu.Unlock()

	ch, err := b.Consume(ctx, 64)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	for len(want) > 0 {
		d := receive(t, ch)
		if err := d.Ack(); err != nil {
			t.Fatalf("ack: %v", err)
		}
		// Ids of failed publishes may arrive too, and duplicates: both
		// are allowed.
		delete(want, d.TaskID())
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	select {
	case <-ch:
	case <-timeout.C:
		t.Fatalf("waiting for %s: nothing in %v", what, patience)
	}
}

// TestRejectsForeignMessage puts a message pacer didn't write on the queue:
// it is logged and dropped, and the consumer goes on.
func TestRejectsForeignMessage(t *testing.T) {
	t.Parallel()
	logs := &recorder{}
	b := newBroker(t, rabbitmq.Config{Logger: slog.New(logs)})
	ctx := t.Context()

	conn, err := amqp.Dial(testURL(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = conn.Close() }()
	ach, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	if err := ach.Confirm(false); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	dc, err := ach.PublishWithDeferredConfirmWithContext(ctx, "", b.Queue(), true, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(`{"task_id": 3}`)})
	if err != nil {
		t.Fatalf("publish a foreign message: %v", err)
	}
	if acked, err := dc.WaitContext(ctx); err != nil || !acked {
		t.Fatalf("confirm of the foreign message: acked %v, err %v", acked, err)
	}

	if err := b.Publish(ctx, 4); err != nil {
		t.Fatalf("publish: %v", err)
	}
	ch, err := b.Consume(ctx, 2)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	d := receive(t, ch)
	if d.TaskID() != 4 {
		t.Fatalf("delivered task %d, want 4", d.TaskID())
	}
	if err := d.Ack(); err != nil {
		t.Fatalf("ack: %v", err)
	}
	// The queue delivers in order, so the foreign message was handled
	// before task 4 was forwarded.
	if n := logs.count(slog.LevelWarn, "rejected a message that is not a task id", nil); n != 1 {
		t.Errorf("%d Warn records of a rejected message, want 1", n)
	}
	ready, _, err := b.Depth(ctx)
	if err != nil || ready != 0 {
		t.Errorf("depth after the rejection: ready %d err %v, want 0 (dropped, not requeued)", ready, err)
	}
}

// TestNewRefusesClassicQueue checks that New fails at once when the queue
// exists with other properties, rather than at the first publish.
func TestNewRefusesClassicQueue(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	queue := testQueue(t)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = conn.Close() }()
	ach, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	if _, err := ach.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatalf("declare classic queue: %v", err)
	}
	defer func() { _, _ = ach.QueueDelete(queue, false, false, false) }()

	b, err := rabbitmq.New(t.Context(), rabbitmq.Config{URL: url, Queue: queue})
	if err == nil {
		_ = b.Close()
		t.Fatal("new broker on a classic queue: no error")
	}
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed {
		t.Errorf("new broker on a classic queue: %v, want PRECONDITION_FAILED", err)
	}
}

// TestPublishToDeletedQueue deletes the queue under an idle publishing
// channel: the next Publish must fail rather than report as sent a message
// the server dropped, and the one after declares the queue again.
func TestPublishToDeletedQueue(t *testing.T) {
	t.Parallel()
	b := newBroker(t, rabbitmq.Config{})
	ctx := t.Context()
	if err := b.Publish(ctx, 1); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := b.DeleteQueue(ctx); err != nil {
		t.Fatalf("delete queue: %v", err)
	}
	if err := b.Publish(ctx, seq(2, 300)...); err == nil {
		t.Fatal("publish to the deleted queue: no error")
	} else if !strings.Contains(err.Error(), "unroutable") {
		t.Errorf("publish to the deleted queue: %v, want an unroutable error", err)
	}
	if err := b.Publish(ctx, 400); err != nil {
		t.Fatalf("publish after the failure: %v", err)
	}
	if ready, _, err := b.Depth(ctx); err != nil || ready != 1 {
		t.Errorf("depth: ready %d err %v, want 1 (the queue declared again, with task 400)", ready, err)
	}
}

func TestPublishWithExpiredContext(t *testing.T) {
	t.Parallel()
	b := newBroker(t, rabbitmq.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("publish with a cancelled context: %v, want context.Canceled", err)
	}
	// The broker still works.
	if err := b.Publish(t.Context(), 2); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ready, _, err := b.Depth(t.Context()); err != nil || ready != 1 {
		t.Errorf("depth: ready %d err %v, want 1", ready, err)
	}
}

func TestProbeRoundTrip(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	rate, err := rabbitmq.ProbeRoundTrip(ctx, url, 2000)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if rate <= 0 {
		t.Fatalf("probe: %v messages per second", rate)
	}
	t.Logf("RabbitMQ round trip: %.0f messages/s", rate)

	if _, err := rabbitmq.ProbeRoundTrip(ctx, url, 0); err == nil {
		t.Error("probe of 0 messages: no error")
	}
}

// TestNewValidatesConfig needs no server: New validates before it dials.
func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	tests := []struct {
		name string
		cfg  rabbitmq.Config
		want string // in the error
	}{
		{"no URL", rabbitmq.Config{}, "URL: missing"},
		{"other scheme", rabbitmq.Config{URL: "http://guest:" + secret + "@localhost/"}, "URL: not an AMQP URI"},
		{"unparsable URL", rabbitmq.Config{URL: "amqp://guest:" + secret + "@local host:5672/"}, "URL: not an AMQP URI"},
		{"bad port", rabbitmq.Config{URL: "amqp://guest:" + secret + "@localhost:x/"}, "URL: not an AMQP URI"},
		{"reserved queue", rabbitmq.Config{URL: "amqp://localhost/", Queue: "amq.tasks"}, "Queue:"},
		{"long queue", rabbitmq.Config{URL: "amqp://localhost/", Queue: strings.Repeat("q", 256)}, "Queue:"},
		{"negative min", rabbitmq.Config{URL: "amqp://localhost/", ReconnectMin: -time.Second}, "ReconnectMin:"},
		{"max below min", rabbitmq.Config{URL: "amqp://localhost/", ReconnectMin: time.Second, ReconnectMax: time.Millisecond}, "ReconnectMax:"},
		{"max below default min", rabbitmq.Config{URL: "amqp://localhost/", ReconnectMax: time.Millisecond}, "ReconnectMax:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := rabbitmq.New(t.Context(), tc.cfg)
			if err == nil {
				_ = b.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestConfigLogValueRedacts(t *testing.T) {
	t.Parallel()
	cfg := rabbitmq.Config{URL: "amqp://pacer:s3cret@rabbit:5672/prod", Queue: "q"}
	var out strings.Builder
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg)
	if strings.Contains(out.String(), "s3cret") {
		t.Errorf("logged config shows the password: %s", out.String())
	}
	if !strings.Contains(out.String(), "rabbit:5672/prod") {
		t.Errorf("logged config lacks the host: %s", out.String())
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const lo, hi = 100 * time.Millisecond, 10 * time.Second
	tests := []struct {
		attempt     int
		least, most time.Duration
	}{
		{0, lo, lo},
		{1, lo, lo},
		{2, lo, 200 * time.Millisecond},
		{3, lo, 400 * time.Millisecond},
		{5, 800 * time.Millisecond, 1600 * time.Millisecond},
		{7, 3200 * time.Millisecond, 6400 * time.Millisecond},
		{8, hi / 2, hi},
		{20, hi / 2, hi},
		{63, hi / 2, hi},
		{1000, hi / 2, hi},
	}
	for _, tc := range tests {
		for range 50 {
			if d := rabbitmq.Backoff(tc.attempt, lo, hi); d < tc.least || d > tc.most {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.least, tc.most)
			}
		}
	}
}

func seq(first int64, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	return ids
}

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

// recorder is a slog.Handler that keeps every record, for tests of what is
// logged.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }

func (r *recorder) WithGroup(string) slog.Handler { return r }

// count returns the records of level with message msg whose attributes
// match (match nil: all of them).
func (r *recorder) count(level slog.Level, msg string, match func(map[string]slog.Value) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.records {
		if rec.Level != level || rec.Message != msg {
			continue
		}
		attrs := map[string]slog.Value{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value
			return true
		})
		if match == nil || match(attrs) {
			n++
		}
	}
	return n
}
