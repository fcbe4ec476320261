package jobs

import (
	"strings"

	"github.com/pacerhq/pacer/notify"
)

// NotifyPolicy says what a submission may name to hear of its job's ending.
// The zero value refuses every webhook and every email address.
type NotifyPolicy struct {
	// Webhooks is true when a webhook secret is configured: without one,
	// a POST could not be signed, so no job may name a webhook.
	Webhooks bool
	// WebhookHosts are the hosts a job's webhook may be on.
	WebhookHosts notify.Allowlist
	// Email is true when an SMTP server is configured.
	Email bool
}

// check validates a submission's webhook URL and email address ("" for
// none) and returns them as the job stores them. Errors are
// *ValidationError naming notify_webhook or notify_email.
func (p NotifyPolicy) check(webhook, email string) (string, string, error) {
	webhook, email = strings.TrimSpace(webhook), strings.TrimSpace(email)
	if webhook != "" {
		if !p.Webhooks {
			return "", "", Invalid("notify_webhook", "webhooks are not configured on this pacer: set [notify] webhook_secret_env or webhook_secret_file and allow_hosts in the config file")
		}
		if err := notify.CheckWebhookURL(webhook, p.WebhookHosts); err != nil {
			return "", "", Invalid("notify_webhook", "%v", err)
		}
	}
	if email != "" {
		if !p.Email {
			return "", "", Invalid("notify_email", "email is not configured on this pacer: set [notify.smtp] in the config file")
		}
		addr, err := notify.CheckEmail(email)
		if err != nil {
			return "", "", Invalid("notify_email", "%v", err)
		}
		email = addr
	}
	return webhook, email, nil
}
