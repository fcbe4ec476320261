package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pacerhq/pacer/store"
)

// Rerun creates a job of the same kind, credential and params as the
// finished job id, covering only the items its failed tasks held, and the
// items of tasks a cancel left undone. The items stream from the store, so
// a job of a million tasks is never read whole. The new job notifies the
// same webhook and address as the old one, each as long as the notify
// policy still allows it (a target the config no longer allows is dropped
// rather than blocking the re-run; the job page shows what it notifies).
// It returns a
// *ValidationError when id is not finished, its kind cannot re-run, or it
// has nothing to run again; store.ErrNotFound when there is no such job.
func (s *Service) Rerun(ctx context.Context, id int64) (store.Job, error) {
	old, err := s.cfg.Store.GetJob(ctx, id)
	if err != nil {
		return store.Job{}, err
	}
	if !old.State.Finished() {
		return store.Job{}, Invalid("state", "job %d is %s; only a finished job can be re-run", id, old.State)
	}
	kind, ok := s.cfg.Kinds.Lookup(old.Kind)
	if !ok {
		return store.Job{}, Invalid("kind", "kind %q is not registered", old.Kind)
	}
	rerunner, ok := kind.(Rerunner)
	if !ok {
		return store.Job{}, Invalid("kind", "%s jobs cannot be re-run", old.Kind)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		pw.CloseWithError(s.writeRerunItems(ctx, id, rerunner, pw))
	}()
	sub := Submission{Kind: old.Kind, Credential: old.Credential, Params: old.Params, Items: pr}
	if _, _, err := s.cfg.Notify.check(old.NotifyWebhook, ""); err == nil {
		sub.NotifyWebhook = old.NotifyWebhook
	}
	if _, _, err := s.cfg.Notify.check("", old.NotifyEmail); err == nil {
		sub.NotifyEmail = old.NotifyEmail
	}
	job, err := s.Submit(ctx, sub)
	pr.CloseWithError(errors.New("rerun submitted")) // stop the writer if Submit returned early
	var ve *ValidationError
	if errors.As(err, &ve) && ve.Field == "ids" && (ve.Reason == "no items to collect" || ve.Reason == "no ids given") {
		return store.Job{}, Invalid("id", "job %d has no failed or missing items to re-run", id)
	}
	return job, err
}

// writeRerunItems writes the items of job id's failed and cancelled tasks to
// w, one per line, paging through the tasks.
func (s *Service) writeRerunItems(ctx context.Context, id int64, k Rerunner, w io.Writer) error {
	bw := bufio.NewWriter(w)
	after := int64(0)
	for {
		tasks, err := s.cfg.Store.ListTasks(ctx, id, []store.TaskState{store.TaskFailed, store.TaskCancelled}, after, 500)
		if err != nil {
			return fmt.Errorf("list tasks of job %d: %w", id, err)
		}
		for _, t := range tasks {
			items, err := k.Items(t.Payload)
			if err != nil {
				return fmt.Errorf("task %d: %w", t.ID, err)
			}
			for _, item := range items {
				if _, err := fmt.Fprintln(bw, item); err != nil {
					return err
				}
			}
			after = t.ID
		}
		if len(tasks) < 500 {
			return bw.Flush()
		}
	}
}
