package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// Webhooks is what the webhook routes need. *gateway.Service has the
// delivery use cases; the server adds the secret.
type Webhooks interface {
	ListDeliveries(ctx context.Context, owner, id string) (gateway.Deliveries, error)
	Redeliver(ctx context.Context, owner, id, messageID string) (gateway.Deliveries, error)
	// WebhookSecret is the current signing secret and whether the server
	// generated it.
	WebhookSecret(ctx context.Context) (secret string, generated bool, err error)
}

func (s *Server) webhooks() (Webhooks, error) {
	if s.cfg.Webhooks == nil {
		return nil, &Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "webhooks are not enabled on this server"}
	}
	return s.cfg.Webhooks, nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	d, err := wh.ListDeliveries(r.Context(), ownerOf(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deliveriesView(d))
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var req api.RedeliverRequest
	if len(body) > 0 {
		if err := decodeStrict(body, &req); err != nil {
			return err
		}
	}
	if len(req.MessageID) > maxIDLen {
		return badRequest("message_id", "must be at most %d characters", maxIDLen)
	}
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	d, err := wh.Redeliver(r.Context(), ownerOf(r), id, req.MessageID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, deliveriesView(d))
}

func (s *Server) webhookSecret(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	secret, generated, err := wh.WebhookSecret(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, api.WebhookSecret{Secret: secret, Generated: generated})
}

// deliveriesView renders a job's messages and attempts.
func deliveriesView(d gateway.Deliveries) api.DeliveryList {
	out := api.DeliveryList{Deliveries: make([]api.Delivery, 0, len(d.Messages))}
	for _, m := range d.Messages {
		v := api.Delivery{ID: m.ID, Type: m.Type, URL: redactURL(m.URL), State: m.State, CreatedAt: m.CreatedAt,
			NextAttemptAt: timeOrNil(m.NextAttemptAt), EndedAt: timeOrNil(m.EndedAt), Attempts: []api.DeliveryAttempt{}}
		for _, a := range d.Attempts[m.ID] {
			v.Attempts = append(v.Attempts, attemptView(a))
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	return out
}

func attemptView(a job.DeliveryAttempt) api.DeliveryAttempt {
	return api.DeliveryAttempt{N: a.N, At: a.At, DurationMS: float64(a.Duration.Microseconds()) / 1000,
		StatusCode: a.StatusCode, Error: a.Error, NextAttemptAt: timeOrNil(a.NextAttemptAt)}
}

// redactURL drops the query string and fragment, which may carry tokens.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
