package postgres_test

import (
	"testing"

	"github.com/pacerhq/pacer/store/postgres"
)

func TestProbeCopy(t *testing.T) {
	t.Parallel()
	db := newStore(t).(*postgres.DB)
	// 7,000 rows: two full COPY batches and a partial one.
	perSecond, err := db.ProbeCopy(t.Context(), 7000)
	if err != nil {
		t.Fatalf("ProbeCopy: %v", err)
	}
	if perSecond <= 0 {
		t.Errorf("ProbeCopy = %v rows/s, want a positive rate", perSecond)
	}
	t.Logf("%.0f rows/s", perSecond)
	if _, err := db.ProbeCopy(t.Context(), 0); err == nil {
		t.Error("ProbeCopy(0) succeeded, want an error")
	}
}
