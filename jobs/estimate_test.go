package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/ratelimit"
	"github.com/pacerhq/pacer/store"
)

// Estimate plans a submission as Submit does, counts its tasks and items,
// and gives the ETA its quotas allow, writing nothing.
func TestEstimatePlansWithoutWriting(t *testing.T) {
	r := newRig(t, rigConfig{quotas: []ratelimit.Quota{{Key: "q15", Limit: 100, Window: 15 * time.Minute}}})
	ctx := t.Context()
	sub := func(items string) jobs.Submission {
		return jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(items)}
	}
	est, err := r.service.Estimate(ctx, sub(ids(250)))
	if err != nil {
		t.Fatal(err)
	}
	if est.Tasks != 3 || est.Items != 250 || est.ETA != 0 || !est.ETAKnown || len(est.Quotas) != 1 || est.Quotas[0].Remaining != 100 || est.Quotas[0].ResetAt != nil {
		t.Fatalf("fresh quota: %+v", est)
	}
	// Spend 99 of the window: one request now, two when it closes.
	now := time.Now()
	if ok, _, _, _, err := r.store.TakeWindow(ctx, "q15", 100, 15*time.Minute, 0, 99, now); err != nil || !ok {
		t.Fatalf("TakeWindow: %v %v", ok, err)
	}
	est, err = r.service.Estimate(ctx, sub(ids(250)))
	if err != nil {
		t.Fatal(err)
	}
	q := est.Quotas[0]
	if q.Remaining != 1 || q.ResetAt == nil || est.ETA < 14*time.Minute || est.ETA > 15*time.Minute+time.Second {
		t.Fatalf("spent quota: %+v, quota %+v", est, q)
	}
	if list, _ := r.store.ListJobs(ctx, store.JobFilter{}); len(list) != 0 {
		t.Fatalf("Estimate created %d jobs", len(list))
	}
	for _, tc := range []struct {
		sub   jobs.Submission
		field string
	}{
		{jobs.Submission{Credential: "main", Items: strings.NewReader("1\n")}, "kind"},
		{jobs.Submission{Kind: "tweet_lookup", Credential: "nobody", Items: strings.NewReader("1\n")}, "credential"},
		{sub("1\nx2\n"), "ids"},
		{sub(""), "ids"},
		{jobs.Submission{Kind: "tweet_lookup", Credential: "main", Params: []byte(`{"tweet_fields":7}`), Items: strings.NewReader("1\n")}, "params"},
	} {
		_, err := r.service.Estimate(ctx, tc.sub)
		var ve *jobs.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, tc.field) {
			t.Errorf("Estimate(%+v) = %v, want an error naming %s", tc.sub, err, tc.field)
		}
	}
}

// A job over a monthly budget is refused by Estimate as by Submit.
func TestEstimateRefusesOverBudget(t *testing.T) {
	r := newRig(t, rigConfig{quotas: []ratelimit.Quota{{Key: "month", Limit: 2, Window: 30 * 24 * time.Hour}}})
	_, err := r.service.Estimate(t.Context(), jobs.Submission{Kind: "tweet_lookup", Credential: "main", Items: strings.NewReader(ids(250))})
	var ve *jobs.ValidationError
	if !errors.As(err, &ve) || ve.Field != "ids" || !strings.Contains(ve.Reason, "budget") {
		t.Fatalf("over budget: %v", err)
	}
}
