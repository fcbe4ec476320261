// Package notify sends word of a job's ending: a signed JSON POST to a
// webhook, or a plain-text email through an SMTP server. It owns the wire
// formats (the [Message] body, the [SignatureHeader] and its [Verify]) and
// the checks of what a user may name as a target ([Allowlist],
// [CheckWebhookURL], [CheckEmail]).
//
// Deciding when to send, retrying and recording belong to the delivery loop
// in package jobs; notify sends one message once and says how it went. It
// imports the standard library only, and no pacer package.
//
// # Verifying a webhook
//
// Each POST carries
//
//	Content-Type: application/json
//	X-Pacer-Delivery: <id>                 one id per job ending and channel
//	X-Pacer-Event: job.<state>             job.succeeded, job.failed or job.cancelled
//	X-Pacer-Signature: t=<unix>,v1=<hex>
//
// where <hex> is the lowercase hex HMAC-SHA256, keyed with the shared
// secret, of the decimal <unix> timestamp, a '.', and the raw request body.
// A receiver recomputes it over the body as received, compares in constant
// time, refuses timestamps too far from its clock (replays), and
// deduplicates on X-Pacer-Delivery: a delivery whose answer was lost is sent
// again with the same id. [Verify] does all but the deduplication.
package notify
