package jobs

import (
	"context"
	"time"
)

// Estimate is what a submission would come to, worked out before it is
// accepted.
type Estimate struct {
	// Items is how many items the job would cover; Tasks how many tasks,
	// one upstream request each. A paginated list counts its first page
	// only: its length shows as it is fetched.
	Items int64
	Tasks int64
	// ETA is how long the requests would take at the pace the credential's
	// quotas allow from now; ETAKnown is false when it has no quota.
	ETA      time.Duration
	ETAKnown bool
	// Quotas is the state of the credential's quotas now.
	Quotas []QuotaState
}

// QuotaState is one quota of a credential as it stands now.
type QuotaState struct {
	Credential string        `json:"credential"`
	Key        string        `json:"key"`
	Limit      int           `json:"limit"`
	Window     time.Duration `json:"-"`
	// Remaining is what the open window has left (the whole limit when no
	// window is open); ResetAt is when the open window closes (nil when
	// none is open).
	Remaining int        `json:"remaining"`
	ResetAt   *time.Time `json:"reset_at,omitempty"`
	// BlockedUntil is set while the upstream refuses the quota (a 429).
	BlockedUntil *time.Time `json:"blocked_until,omitempty"`
}

// Estimate validates sub and plans it as Submit does, counting the tasks
// and items instead of writing them, and estimates how long the job would
// take. It writes nothing. Bad input is a *ValidationError naming the field,
// as from Submit; a job over a budget is refused the same way.
func (s *Service) Estimate(ctx context.Context, sub Submission) (Estimate, error) {
	kind, params, stop, err := s.prepare(ctx, &sub)
	if err != nil {
		return Estimate{}, err
	}
	defer stop()
	var est Estimate
	err = kind.Plan(ctx, params, sub.Items, func(t TaskSpec) error {
		est.Tasks++
		est.Items += int64(t.Items)
		return nil
	})
	if err != nil {
		return Estimate{}, err
	}
	if est.Tasks == 0 {
		return Estimate{}, Invalid("ids", "no items to collect")
	}
	if est.ETA, err = s.admit(ctx, sub.Credential, int(est.Tasks)); err != nil {
		return Estimate{}, err
	}
	if est.Quotas, err = s.QuotaStates(ctx, sub.Credential); err != nil {
		return Estimate{}, err
	}
	est.ETAKnown = len(est.Quotas) > 0
	return est, nil
}

// QuotaStates returns the state of the quotas of a credential or of every
// member of a pool; none for an unknown name.
func (s *Service) QuotaStates(ctx context.Context, credential string) ([]QuotaState, error) {
	creds, ok := s.cfg.Credentials.resolve(credential, s.cfg.Pools)
	if !ok {
		return nil, nil
	}
	now := s.cfg.NowFunc()
	left, err := s.left(ctx, creds, now)
	if err != nil {
		return nil, err
	}
	var out []QuotaState
	for i, quotas := range left {
		for _, q := range quotas {
			st := QuotaState{Credential: creds[i].Name, Key: q.quota.Key, Limit: q.quota.Limit, Window: q.quota.Window, Remaining: q.left}
			if !q.refill.IsZero() && q.refill.After(now) {
				r := q.refill
				st.ResetAt = &r
			} else if q.refill.IsZero() && !q.quota.Sliding {
				st.Remaining = q.limit
			}
			if q.blocked.After(now) {
				b := q.blocked
				st.BlockedUntil = &b
			}
			out = append(out, st)
		}
	}
	return out, nil
}
