package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
)

// upstreamTransport carries one attempt's requests. For each request it
// picks, among the job's credentials (one, or its pool's) that are not
// retired, the one with the most quota left; spends its quotas; adds its
// token; counts the request; and reads the answer's rate-limit headers back
// into the ledger. A 429 blocks that credential's quota in every process and
// the request goes to another credential of the pool, or, with none left
// with room, fails with a *ratelimit.ThrottledError so the task waits. A
// credential the upstream refuses outright (401, or a 403 not about rate) is
// retired for good, in every process, and the request tries the next.
type upstreamTransport struct {
	base    http.RoundTripper
	limiter *ratelimit.Limiter // nil: no quotas, declared or learned
	name    string             // what the job named: a credential or a pool
	creds   []Credential
	retired *retiredSet
	sent    *atomic.Int64 // requests put on the wire
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for {
		live := t.live(ctx)
		if len(live) == 0 {
			return nil, Permanent(fmt.Errorf("every credential of %s is retired", t.name))
		}
		c, g, err := t.pick(ctx, live)
		if err != nil {
			return nil, err
		}
		r := ratelimit.Unreplayable(req)
		if c.Token != "" {
			if r == req {
				r = req.Clone(ctx)
			}
			c.setAuth(r.Header)
		}
		t.sent.Add(1)
		resp, err := t.base.RoundTrip(r)
		t.metrics.request(quotaKey(c), resp, err)
		if err != nil {
			return nil, err
		}
		obs := ratelimit.Observe(resp, t.now())
		if t.limiter != nil {
			observe := t.limiter.Observe
			if len(c.Quotas) == 0 {
				observe = t.limiter.ObserveLearned
			}
			// The request is spent whatever happens to this attempt now:
			// record what the upstream said even if the attempt's deadline
			// has passed, or a good answer would be thrown away and sent
			// for again.
			octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := observe(octx, g, obs)
			cancel()
			if err != nil {
				resp.Body.Close()
				var th *ratelimit.ThrottledError
				if errors.As(err, &th) && len(live) > 1 {
					continue // the pool may have another credential with room
				}
				return nil, err
			}
		}
		if refused(resp, obs) {
			reason := fmt.Sprintf("upstream answered %s", resp.Status)
			if err := t.retired.retire(ctx, c.Name, reason); err != nil {
				resp.Body.Close()
				return nil, err
			}
			t.log.WarnContext(ctx, "credential retired", "credential", c.Name, "status", resp.StatusCode)
			if len(live) > 1 {
				resp.Body.Close()
				continue
			}
		}
		return resp, nil
	}
}

// refused reports whether the upstream refused the credential itself, not
// the request's rate: 401, or 403 that is not a rate limit (GitHub answers
// a spent quota with 403).
func refused(resp *http.Response, obs ratelimit.Observation) bool {
	return resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden && !obs.Throttled
}

// live returns the credentials not retired, in their declared order.
func (t *upstreamTransport) live(ctx context.Context) []Credential {
	out := make([]Credential, 0, len(t.creds))
	for _, c := range t.creds {
		if !t.retired.has(ctx, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// pick spends the quotas of one of creds, the one with the most left.
func (t *upstreamTransport) pick(ctx context.Context, creds []Credential) (Credential, ratelimit.Grant, error) {
	if t.limiter == nil {
		return creds[0], ratelimit.Grant{}, nil
	}
	if len(creds) == 1 && len(creds[0].Quotas) == 0 {
		// Declared without quotas: learn the upstream's.
		g, err := t.limiter.WaitLearned(ctx, creds[0].Name)
		return creds[0], g, err
	}
	options := make([][]ratelimit.Quota, len(creds))
	for i, c := range creds {
		options[i] = c.Quotas
		if len(c.Quotas) == 0 {
			// In a pool, an undeclared member goes by the ledger alone:
			// headers and 429s, without this process's pacing.
			options[i] = []ratelimit.Quota{ratelimit.Learned(c.Name)}
		}
	}
	i, g, err := t.limiter.WaitAny(ctx, options)
	if err != nil {
		return Credential{}, ratelimit.Grant{}, err
	}
	return creds[i], g, nil
}

func quotaKey(c Credential) string {
	if len(c.Quotas) == 0 {
		return ""
	}
	return c.Quotas[0].Key
}

// retiredSet is a worker's view of the retired credentials: the store's
// list, re-read at most every refresh, plus what this worker retired since.
// It is safe for concurrent use.
type retiredSet struct {
	store   store.Store
	refresh time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	names  map[string]bool
	loaded time.Time
}

func (r *retiredSet) has(ctx context.Context, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); r.names == nil || now.Sub(r.loaded) >= r.refresh {
		list, err := r.store.ListRetiredCredentials(ctx)
		if err != nil {
			// Keep what we knew: a store hiccup must not un-retire anything.
			r.log.WarnContext(ctx, "list retired credentials", "err", err)
		} else {
			r.names = make(map[string]bool, len(list))
			for _, c := range list {
				r.names[c.Name] = true
			}
			r.loaded = now
		}
	}
	return r.names[name]
}

func (r *retiredSet) retire(ctx context.Context, name, reason string) error {
	if err := r.store.RetireCredential(ctx, name, reason, r.now()); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]bool{}
	}
	r.names[name] = true
	return nil
}
