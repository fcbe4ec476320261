package jobs

import (
	"errors"
	"time"
)

// PermanentError marks a task error that retrying cannot fix (a 400 from the
// upstream, a payload the kind cannot read). The task fails at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the worker fails the task without retrying.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is or wraps a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// SnoozeError asks the worker to put the task back until Until without using
// up an attempt: the task is not failing, it is waiting (for a quota, say).
type SnoozeError struct{ Until time.Time }

func (e *SnoozeError) Error() string { return "snoozed until " + e.Until.UTC().Format(time.RFC3339) }

// Snooze returns a *SnoozeError for until.
func Snooze(until time.Time) error { return &SnoozeError{Until: until} }
