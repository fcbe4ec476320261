package notify_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: a Mailer's
// context watcher, an SMTP session or a webhook's connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
