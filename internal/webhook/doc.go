// Package webhook delivers job webhooks: Standard Webhooks messages
// (standardwebhooks.com), signed with the server's secrets, from the durable
// outbox the store keeps (job.WebhookStore).
//
// The store writes a message in the same commit as the event it tells of,
// so a job that ends always has its message, whichever path ended it and
// whatever crashes afterwards. The Worker here only sends: it claims due
// messages under a lease, POSTs each through the URL policy of
// internal/safefetch (no redirects followed, answers read only up to a
// small limit), and records every attempt. A 2xx answer delivers the
// message, 410 Gone and a refused URL end it, anything else (another
// status, a timeout, a refused connection) is retried with exponential
// backoff and jitter until the retry window closes. A job's messages go
// one at a time, in order; each destination host has a bounded number of
// attempts in flight, so one slow receiver cannot hold up the others.
//
// job.progress is the exception: progress is ephemeral in comfygate's event
// model, so it never enters the outbox. The worker follows the event hub
// and sends at most one job.progress per job per ProgressInterval (the
// latest progress; older ones are dropped), once, not retried, not logged:
// a hint that may also arrive after the job's end.
package webhook
