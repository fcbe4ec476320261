package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/notify"
	"github.com/pacerhq/pacer/store"
)

// NotifySender sends one message to one target (a webhook URL, an email
// address) once. [notify.Webhook] and [notify.Mailer] are NotifySenders. An
// error that wraps a [notify.PermanentError] is not retried.
type NotifySender interface {
	Send(ctx context.Context, target string, m notify.Message) error
}

// NotificationStore is what a Notifier needs of the store.
type NotificationStore interface {
	ClaimNotifications(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]store.Notification, error)
	SettleNotification(ctx context.Context, s store.Settlement) error
	GetJob(ctx context.Context, id int64) (store.Job, error)
}

// NotifierConfig configures a Notifier.
type NotifierConfig struct {
	Store NotificationStore // required
	// Webhook and Email send on their channels. A nil sender fails its
	// channel's notifications for good, saying it is not configured (the
	// service refuses such jobs, so this happens only when the config
	// changed after they were submitted).
	Webhook NotifySender
	Email   NotifySender
	// Owner names this notifier in leases; several notifiers, in one
	// process or many, need distinct names. Default: host, pid and a
	// random suffix.
	Owner string
	// Interval is how often it looks for due notifications. Default 1s.
	Interval time.Duration
	// Lease is how long a claimed notification is kept from other
	// notifiers; it must exceed the senders' own timeouts (30 s by
	// default), else a slow send could be claimed and sent again. Default
	// 2m.
	Lease time.Duration
	// MaxAttempts is how many sends are tried before a notification fails
	// for good. Default 8.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the exponential backoff between
	// attempts, with jitter ([Backoff]). Defaults 5s and 30m.
	BackoffMin, BackoffMax time.Duration
	// PublicURL is pacer's address as its users reach it
	// ("https://pacer.example.org"); messages then link to the job's page.
	// "" links nowhere.
	PublicURL string
	Logger    *slog.Logger     // default slog.Default()
	Metrics   *NotifierMetrics // optional
	NowFunc   func() time.Time // default time.Now
}

// Notifier delivers the notifications that jobs' endings leave in the store:
// it claims due ones with a lease, sends each, and marks it sent, or due
// again after a backoff, or failed for good after MaxAttempts, recording
// the attempt's error. Any number of notifiers may share a store: a lease
// keeps each notification with one of them. A notifier that dies holding
// leases leaves them to expire, and then another sends those notifications
// again with the same delivery id, by which receivers deduplicate. It is
// safe for concurrent use.
type Notifier struct {
	cfg NotifierConfig

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc // no more claims
	hard    context.CancelFunc // cancels the send in progress
	done    chan struct{}
}

// NewNotifier returns a Notifier for cfg.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("notifier config: Store is required")
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Lease == 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 5 * time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 30 * time.Minute
	}
	switch {
	case cfg.Interval < 0 || cfg.Lease < 0 || cfg.MaxAttempts < 0:
		return nil, errors.New("notifier config: Interval, Lease and MaxAttempts must not be negative")
	case cfg.BackoffMin < 0 || cfg.BackoffMax < cfg.BackoffMin:
		return nil, fmt.Errorf("notifier config: backoff %s..%s is not a range", cfg.BackoffMin, cfg.BackoffMax)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.Owner = fmt.Sprintf("notifier/%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	return &Notifier{cfg: cfg}, nil
}

// Start runs the delivery loop until Stop or until ctx ends.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return nil
	}
	// Sends run under their own context, which only Stop's deadline
	// cancels: a send cut short may have reached its receiver, and would
	// then be sent again.
	var sendCtx context.Context
	sendCtx, n.hard = context.WithCancel(context.WithoutCancel(ctx))
	ctx, n.stop = context.WithCancel(ctx)
	n.started, n.done = true, make(chan struct{})
	go func() {
		defer close(n.done)
		n.loop(ctx, sendCtx)
	}()
	return nil
}

// Stop ends the loop: it claims nothing more, and lets the send in progress
// finish and be recorded. If ctx ends first, the send is cancelled and put
// back as due, and Stop waits for that and returns ctx's error. Calling it
// twice, or before Start, is fine.
func (n *Notifier) Stop(ctx context.Context) error {
	n.mu.Lock()
	if !n.started {
		n.mu.Unlock()
		return nil
	}
	n.stop()
	done := n.done
	n.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n.hard()
		<-done
		return ctx.Err()
	}
}

func (n *Notifier) loop(ctx, sendCtx context.Context) {
	defer n.hard()
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	failures := 0
	for {
		if _, err := n.deliverOnce(ctx, sendCtx); err != nil && ctx.Err() == nil {
			failures++
			if failures == 1 || failures%60 == 0 {
				n.cfg.Logger.WarnContext(ctx, "notification delivery failed", "err", err, "failures", failures)
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverOnce claims and sends every notification that is due now, one at
// a time, and returns how many it attempted. It stops at the first store
// error.
func (n *Notifier) DeliverOnce(ctx context.Context) (int, error) {
	return n.deliverOnce(ctx, ctx)
}

// deliverOnce claims while ctx lasts and sends under sendCtx. Each
// notification is claimed just before its send, so that every send starts
// with a whole Lease: of a batch claimed at once, the later ones would be
// sent on what the earlier sends left of it, and a lease that ran out
// meanwhile lets another notifier send them too.
func (n *Notifier) deliverOnce(ctx, sendCtx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		now := n.cfg.NowFunc()
		claimed, err := n.cfg.Store.ClaimNotifications(ctx, n.cfg.Owner, now, now.Add(n.cfg.Lease), 1)
		if err != nil {
			return total, err
		}
		if len(claimed) == 0 {
			break
		}
		if err := n.deliver(sendCtx, claimed[0]); err != nil {
			return total, err
		}
		total++
	}
	return total, nil
}

// deliver sends one claimed notification and settles it. Only a store error
// is returned; a send's error is recorded on the notification.
func (n *Notifier) deliver(ctx context.Context, nt store.Notification) error {
	log := n.cfg.Logger.With("job_id", nt.JobID, "channel", string(nt.Channel), "attempt", nt.Attempts)
	sendErr := n.send(ctx, nt)
	now := n.cfg.NowFunc()
	s := store.Settlement{ID: nt.ID, Owner: n.cfg.Owner, State: store.NotificationSent, Now: now}
	outcome := NotifySent
	switch {
	case sendErr == nil:
	case ctx.Err() != nil:
		// Shutting down: due again at once, for whoever runs next.
		s.State, s.RunAt, s.Error, outcome = store.NotificationPending, now, "interrupted by shutdown", ""
	case notify.IsPermanent(sendErr) || nt.Attempts >= n.cfg.MaxAttempts:
		s.State, s.Error, outcome = store.NotificationFailed, errorText(sendErr), NotifyFailed
	default:
		s.State, s.Error, outcome = store.NotificationPending, errorText(sendErr), NotifyRetried
		s.RunAt = now.Add(Backoff(nt.Attempts, n.cfg.BackoffMin, n.cfg.BackoffMax))
	}
	// The settlement must land even when ctx ended during the send.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := n.cfg.Store.SettleNotification(sctx, s); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// The lease ran out and another notifier took over.
			log.WarnContext(ctx, "notification lease lost", "err", err)
			return nil
		}
		return fmt.Errorf("settle notification %d: %w", nt.ID, err)
	}
	n.cfg.Metrics.record(nt.Channel, outcome)
	switch outcome {
	case NotifySent:
		log.InfoContext(ctx, "notification sent")
	case NotifyRetried:
		log.WarnContext(ctx, "notification not delivered; will retry", "err", sendErr, "run_at", s.RunAt)
	case NotifyFailed:
		log.ErrorContext(ctx, "notification failed for good", "err", sendErr)
	}
	return nil
}

func (n *Notifier) send(ctx context.Context, nt store.Notification) error {
	sender := n.cfg.Webhook
	if nt.Channel == store.ChannelEmail {
		sender = n.cfg.Email
	}
	if sender == nil {
		return &notify.PermanentError{Err: fmt.Errorf("%s notifications are not configured", nt.Channel)}
	}
	j, err := n.cfg.Store.GetJob(ctx, nt.JobID)
	if err != nil {
		return fmt.Errorf("read job %d: %w", nt.JobID, err)
	}
	return sender.Send(ctx, nt.Target, n.message(nt, j))
}

// message is what a notification says of its job.
func (n *Notifier) message(nt store.Notification, j store.Job) notify.Message {
	m := notify.Message{
		DeliveryID: strconv.FormatInt(nt.ID, 10),
		Event:      "job." + string(nt.JobState),
		JobID:      j.ID, Kind: j.Kind, State: string(nt.JobState),
		Summary: j.Summary, LastError: j.LastError,
		ItemsTotal: j.ItemsTotal, ItemsDone: j.ItemsDone, ItemsFailed: j.ItemsFailed, Requests: j.Requests,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
	}
	if m.Summary == "" && nt.JobState == store.JobCancelled {
		m.Summary = fmt.Sprintf("cancelled with %s of %s items done", thousands(j.ItemsDone), thousands(j.ItemsTotal))
	}
	if n.cfg.PublicURL != "" {
		m.URL = fmt.Sprintf("%s/jobs/%d", n.cfg.PublicURL, j.ID)
	}
	return m
}

// Notification outcomes, the values of the outcome label of
// pacer_notifications_total.
const (
	NotifySent    = "sent"    // the receiver accepted it
	NotifyRetried = "retried" // an attempt failed; it will be tried again
	NotifyFailed  = "failed"  // failed for good
)

// NotifierMetrics are a Notifier's Prometheus metrics. Use
// NewNotifierMetrics; a nil *NotifierMetrics records nothing.
type NotifierMetrics struct {
	total *prometheus.CounterVec
}

// NewNotifierMetrics registers pacer_notifications_total on reg, with every
// (channel, outcome) series started at zero.
func NewNotifierMetrics(reg prometheus.Registerer) *NotifierMetrics {
	m := &NotifierMetrics{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pacer_notifications_total",
		Help: "Notification delivery attempts, by channel (webhook, email) and outcome (sent, retried, failed for good).",
	}, []string{"channel", "outcome"})}
	reg.MustRegister(m.total)
	for _, c := range store.Channels {
		for _, o := range []string{NotifySent, NotifyRetried, NotifyFailed} {
			m.total.WithLabelValues(string(c), o)
		}
	}
	return m
}

func (m *NotifierMetrics) record(c store.Channel, outcome string) {
	if m == nil || outcome == "" {
		return
	}
	m.total.WithLabelValues(string(c), outcome).Inc()
}
