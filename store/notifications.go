package store

import (
	"errors"
	"fmt"
	"time"
)

// This file holds the notification outbox: the rows a job's ending leaves for
// the delivery loop, and the rules both drivers share about them.
//
// A job that names a webhook or an email address (NewJob.NotifyWebhook,
// NotifyEmail) gets one notification row per channel in the same transaction
// that moves it into a terminal state (CompleteTask, FailTask, CancelJob), so
// an ending is never without its notifications, and UNIQUE (job_id, channel)
// makes sure it never has two. Delivery claims rows with a lease, as workers
// claim tasks.

// Channel is how a notification travels.
type Channel string

// Notification channels.
const (
	ChannelWebhook Channel = "webhook"
	ChannelEmail   Channel = "email"
)

// Channels lists every channel, in the order a job's rows are inserted.
var Channels = []Channel{ChannelWebhook, ChannelEmail}

// NotificationState is the delivery state of a notification: pending until
// it is sent or has failed for good.
type NotificationState string

// Notification states.
const (
	NotificationPending NotificationState = "pending"
	NotificationSent    NotificationState = "sent"
	NotificationFailed  NotificationState = "failed"
)

// Notification is one outbox row: word of one job's ending, to one target.
type Notification struct {
	ID       int64    `db:"id"`
	JobID    int64    `db:"job_id"`
	Channel  Channel  `db:"channel"`
	Target   string   `db:"target"`    // the webhook URL or email address, as the job named it
	JobState JobState `db:"job_state"` // the terminal state the job entered

	State      NotificationState `db:"state"`
	Attempts   int               `db:"attempts"`   // claims so far
	RunAt      time.Time         `db:"run_at"`     // not to be claimed before this time
	LastError  string            `db:"last_error"` // of the latest failed attempt
	LeaseOwner string            `db:"lease_owner"`
	LeaseUntil *time.Time        `db:"lease_until"`
	CreatedAt  time.Time         `db:"created_at"`
	UpdatedAt  time.Time         `db:"updated_at"`
	// DoneAt is when it was sent or failed for good; nil while pending.
	DoneAt *time.Time `db:"done_at"`
}

// Settlement ends one delivery attempt of a claimed notification.
type Settlement struct {
	ID    int64
	Owner string // must hold the notification's lease, else ErrConflict
	// State is NotificationSent, NotificationFailed (for good), or
	// NotificationPending to try again at RunAt.
	State NotificationState
	RunAt time.Time // when pending: the next attempt's time
	Error string    // the attempt's error, recorded as LastError; "" keeps it
	Now   time.Time
}

// NotificationTargets returns the channels and targets a job named, in the
// order of [Channels]: what the transaction that ends j inserts.
func NotificationTargets(j Job) []Notification {
	var out []Notification
	if j.NotifyWebhook != "" {
		out = append(out, Notification{JobID: j.ID, Channel: ChannelWebhook, Target: j.NotifyWebhook, JobState: j.State})
	}
	if j.NotifyEmail != "" {
		out = append(out, Notification{JobID: j.ID, Channel: ChannelEmail, Target: j.NotifyEmail, JobState: j.State})
	}
	return out
}

// ValidateNotificationClaim checks the arguments of ClaimNotifications.
func ValidateNotificationClaim(owner string, now, leaseUntil time.Time) error {
	return ValidateClaim(owner, now, leaseUntil)
}

// ValidateSettlement checks s: an owner and a known state are required.
func ValidateSettlement(s Settlement) error {
	if s.Owner == "" {
		return errors.New("owner is required")
	}
	switch s.State {
	case NotificationSent, NotificationFailed, NotificationPending:
		return nil
	}
	return fmt.Errorf("unknown state %q", s.State)
}

// CheckNotificationLease reports whether owner holds the lease of n, read
// inside the transaction that settles it: n must be pending and leased to
// owner. As with tasks, an expired lease that no one else has claimed since
// still counts. It returns an error wrapping [ErrConflict] otherwise.
func CheckNotificationLease(n Notification, owner string) error {
	if n.State != NotificationPending || n.LeaseOwner != owner {
		return fmt.Errorf("notification is %s and leased to %q: %w", n.State, n.LeaseOwner, ErrConflict)
	}
	return nil
}
