package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/comfygate/comfygate/internal/job"
)

// CheckWebhook refuses a webhook URL the URL policy forbids, as an
// InputError on the field "webhook" that says why.
func (s *Service) CheckWebhook(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &InputError{Field: "webhook", Problem: "must be an absolute http or https URL"}
	}
	if s.cfg.CheckWebhook == nil {
		return nil
	}
	if err := s.cfg.CheckWebhook(raw); err != nil {
		return &InputError{Field: "webhook", Problem: err.Error()}
	}
	return nil
}

// CheckWebhookEvents refuses unknown or repeated webhook message types.
func CheckWebhookEvents(events []string) error {
	for i, e := range events {
		if !job.ValidWebhookType(e) {
			return &InputError{Field: "webhook.events", Problem: fmt.Sprintf("unknown type %q", e)}
		}
		if slices.Contains(events[:i], e) {
			return &InputError{Field: "webhook.events", Problem: fmt.Sprintf("%q is listed twice", e)}
		}
	}
	return nil
}

// Deliveries is a job's webhook messages and every attempt at them.
type Deliveries struct {
	Messages []*job.WebhookMessage
	Attempts map[string][]job.DeliveryAttempt // by message id
}

// ErrNoOutbox: the store keeps no webhook outbox.
var ErrNoOutbox = errors.New("this store keeps no webhook deliveries")

func (s *Service) outbox() (job.WebhookStore, error) {
	ws, ok := s.cfg.Store.(job.WebhookStore)
	if !ok {
		return nil, ErrNoOutbox
	}
	return ws, nil
}

// ListDeliveries returns the webhook deliveries of a job the caller owns
// (another caller's job is not found). An attempt's error is the
// network's words (a resolver's address among them), shown through
// TextFor.
func (s *Service) ListDeliveries(ctx context.Context, owner, id string) (Deliveries, error) {
	if err := s.checkJob(ctx, owner, id); err != nil {
		return Deliveries{}, err
	}
	ws, err := s.outbox()
	if err != nil {
		return Deliveries{}, err
	}
	ms, err := ws.ListWebhookMessages(ctx, id)
	if err != nil {
		return Deliveries{}, fmt.Errorf("list deliveries: %w", err)
	}
	atts, err := ws.ListDeliveryAttempts(ctx, id)
	if err != nil {
		return Deliveries{}, fmt.Errorf("list deliveries: %w", err)
	}
	d := Deliveries{Messages: ms, Attempts: map[string][]job.DeliveryAttempt{}}
	for _, a := range atts {
		a.Error = s.TextFor(owner, a.Error)
		d.Attempts[a.MessageID] = append(d.Attempts[a.MessageID], a)
	}
	return d, nil
}

// Redeliver sends a message of a job the caller owns again, with the same
// webhook-id: messageID, or the job's latest message when it is "".
func (s *Service) Redeliver(ctx context.Context, owner, id, messageID string) (Deliveries, error) {
	if err := s.checkJob(ctx, owner, id); err != nil {
		return Deliveries{}, err
	}
	ws, err := s.outbox()
	if err != nil {
		return Deliveries{}, err
	}
	if _, err := ws.RedeliverWebhooks(ctx, id, messageID, s.cfg.Clock()); err != nil {
		if errors.Is(err, job.ErrNotFound) {
			what := "job " + id + " has no webhook message"
			if messageID != "" {
				what = fmt.Sprintf("job %s has no webhook message %q", id, messageID)
			}
			return Deliveries{}, fmt.Errorf("%s: %w", what, ErrNotFound)
		}
		return Deliveries{}, fmt.Errorf("redeliver: %w", err)
	}
	return s.ListDeliveries(ctx, owner, id)
}
