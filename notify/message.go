package notify

import (
	"fmt"
	"strings"
	"time"
)

// Message is what a webhook receives as its JSON body, and what an email
// says in words: one job's ending.
type Message struct {
	// DeliveryID is the same for every attempt to deliver one job's ending
	// on one channel: receivers deduplicate on it.
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"` // "job.succeeded", "job.failed" or "job.cancelled"
	JobID      int64  `json:"job_id"`
	Kind       string `json:"kind"`
	State      string `json:"state"` // the terminal state: succeeded, failed or cancelled
	Summary    string `json:"summary"`
	LastError  string `json:"last_error,omitempty"`

	ItemsTotal  int64 `json:"items_total"`
	ItemsDone   int64 `json:"items_done"`
	ItemsFailed int64 `json:"items_failed"`
	Requests    int64 `json:"requests"`

	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// URL is the job's page, when pacer knows its public address.
	URL string `json:"url,omitempty"`
}

// Subject is the email subject of m.
func (m Message) Subject() string {
	return fmt.Sprintf("pacer: job %d (%s) %s", m.JobID, m.Kind, m.State)
}

// Text is m in words, for an email body: one fact a line.
func (m Message) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Job %d (%s) %s.\n\n", m.JobID, m.Kind, m.State)
	if m.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Summary)
	}
	fmt.Fprintf(&b, "Items:    %d of %d done, %d failed\n", m.ItemsDone, m.ItemsTotal, m.ItemsFailed)
	fmt.Fprintf(&b, "Requests: %d\n", m.Requests)
	fmt.Fprintf(&b, "Created:  %s\n", m.CreatedAt.UTC().Format(time.RFC3339))
	if m.StartedAt != nil {
		fmt.Fprintf(&b, "Started:  %s\n", m.StartedAt.UTC().Format(time.RFC3339))
	}
	if m.FinishedAt != nil {
		fmt.Fprintf(&b, "Finished: %s\n", m.FinishedAt.UTC().Format(time.RFC3339))
	}
	if m.LastError != "" {
		fmt.Fprintf(&b, "Last error: %s\n", m.LastError)
	}
	if m.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", m.URL)
	}
	return b.String()
}
