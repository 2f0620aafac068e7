package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/safefetch"
	"github.com/comfygate/comfygate/internal/webhook"
)

// webhookParts are what webhooks need: the URL policy, the secrets and
// the delivery worker.
type webhookParts struct {
	policy    *safefetch.Fetcher
	secrets   []webhook.Secret
	secret    string // the current one, written whsec_…
	generated bool
	worker    *webhook.Worker
	access    gateway.Access // what each owner reads of its jobs (the use cases' rules)
}

// newWebhookPolicy is the URL policy of webhooks: the same rules as URL
// inputs (allowed hosts, private addresses), whether or not URL inputs
// are on.
func newWebhookPolicy(cfg Config) (*safefetch.Fetcher, error) {
	f, err := safefetch.New(safefetch.Config{AllowedHosts: cfg.AllowedHosts, AllowPrivate: cfg.AllowPrivateURLs,
		AllowLoopback: cfg.AllowLoopbackURLs})
	if err != nil {
		return nil, fmt.Errorf("webhook url policy: %w", err)
	}
	return f, nil
}

// webhookSecrets parses the configured secrets, or reads (generating it
// on first start) the one the database keeps, which every replica shares.
func webhookSecrets(ctx context.Context, cfg Config, st job.WebhookStore) (secrets []webhook.Secret, current string, generated bool, err error) {
	given := cfg.WebhookSecrets
	if len(given) == 0 {
		s, err := st.WebhookSecret(ctx, webhook.GenerateSecret)
		if err != nil {
			return nil, "", false, err
		}
		given, generated = []string{s}, true
	}
	for i, s := range given {
		sec, err := webhook.ParseSecret(s)
		if err != nil {
			return nil, "", false, fmt.Errorf("webhook secret %d: %w", i+1, err)
		}
		secrets = append(secrets, sec)
	}
	return secrets, given[0], generated, nil
}

// startWebhooks starts the delivery worker over the store's outbox.
func (p *parts) startWebhooks(ctx context.Context, cfg Config) error {
	policy, err := newWebhookPolicy(cfg)
	if err != nil {
		return err
	}
	p.webhooks.policy = policy
	wp := &p.webhooks
	wp.access = gateway.NewAccess(adminIDs(cfg.APIKeys))
	if wp.secrets, wp.secret, wp.generated, err = webhookSecrets(ctx, cfg, p.store); err != nil {
		return err
	}
	if wp.generated {
		cfg.Logger.Info("webhooks are signed with a secret generated and kept in the database; an admin reads it at GET /v1/webhooks/secret")
	}
	wp.worker, err = webhook.New(webhook.Config{
		Store: p.store, Client: policy.NoRedirects(), CheckURL: policy.CheckURL, Render: p.renderWebhook,
		Secrets: wp.secrets, Owner: p.instanceID, RetryBase: cfg.WebhookRetryBase, RetryFor: cfg.WebhookRetryFor,
		Timeout: cfg.WebhookTimeout, Hub: p.hub, Jobs: p.store, Logger: cfg.Logger, Registry: p.reg,
	})
	if err != nil {
		return err
	}
	return wp.worker.Start(ctx)
}

// renderWebhook is a message's data: the job as the REST API shows it,
// with its outputs inline in job.succeeded when the job asked for that.
func (p *parts) renderWebhook(ctx context.Context, m *job.WebhookMessage) (json.RawMessage, error) {
	v := httpapi.JobView(p.webhooks.access.ShownJob(m.Job)) // the owner's view: no backend paths or addresses for user keys
	if m.Type == job.WebhookSucceeded && m.Job.OutputOptions.Inline {
		open := func(ctx context.Context, id string) (io.ReadCloser, error) { return p.arts.Open(ctx, id) }
		if err := httpapi.InlineOutputs(ctx, &v, open, httpapi.MaxInlineBytes); err != nil {
			return nil, err
		}
	}
	return json.Marshal(v)
}

// webhookAPI serves the webhook routes: the gateway's delivery use cases
// and the signing secret.
type webhookAPI struct {
	*gateway.Service
	parts *webhookParts
}

var _ httpapi.Webhooks = webhookAPI{}

func (a webhookAPI) WebhookSecret(context.Context) (string, bool, error) {
	return a.parts.secret, a.parts.generated, nil
}
