package jobs

import (
	"context"
	"sync"
)

// runner owns one loop goroutine between Start and Stop, with the rules of
// a long-lived component (STYLE.md): Start and Stop may each be called
// twice, and Stop before Start. The zero value is ready to use.
type runner struct {
	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// start runs loop in a goroutine until stop is called or ctx ends; a
// second start does nothing.
func (r *runner) start(ctx context.Context, loop func(context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	ctx, r.stop = context.WithCancel(ctx)
	r.started, r.done = true, make(chan struct{})
	go func() {
		defer close(r.done)
		loop(ctx)
	}()
}

// halt cancels the loop and waits for it to return, or for ctx to end.
func (r *runner) halt(ctx context.Context) error {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	r.stop()
	done := r.done
	r.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
