package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/safefetch"
)

// payload is a message's body, as Standard Webhooks lays it out.
type payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// outcome is what one attempt got.
type outcome struct {
	status    int    // the answer's status, 0 without one
	err       string // why there was no answer, safe to show the job's owner
	permanent bool   // retrying cannot help (a refused URL)
}

// attempt tries m once and records the attempt and what follows it.
func (w *Worker) attempt(ctx context.Context, m *job.WebhookMessage) {
	at := w.cfg.Clock.Now()
	start := time.Now()
	out := w.send(ctx, m, at)
	took := time.Since(start)
	w.metrics.duration.Observe(took.Seconds())
	state, next := w.decide(m, out, w.cfg.Clock.Now())
	a := job.DeliveryAttempt{MessageID: m.ID, JobID: m.JobID, At: at, Duration: took,
		StatusCode: out.status, Error: out.err, NextAttemptAt: next}
	// Record even when Stop cut the attempt short: it happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.cfg.Store.RecordWebhookAttempt(rctx, w.cfg.Owner, a, state); err != nil {
		w.cfg.Logger.Warn("webhook: record attempt failed", "job", m.JobID, "message", m.ID, "err", err)
		return
	}
	w.metrics.attempts.WithLabelValues(resultOf(state)).Inc()
	if state == job.DeliveryDelivered {
		w.metrics.latency.Observe(w.cfg.Clock.Now().Sub(m.CreatedAt).Seconds())
	}
	if state == job.DeliveryFailed {
		w.cfg.Logger.Info("webhook: message given up", "job", m.JobID, "message", m.ID, "type", m.Type,
			"host", m.Host, "attempts", m.Attempts+1, "status", out.status, "err", out.err)
	}
}

func resultOf(state string) string {
	if state == job.DeliveryPending {
		return "retrying"
	}
	return state
}

// decide turns an attempt's outcome into the message's next state: 2xx
// delivers, 410 Gone and a refused URL end it, anything else retries after
// the backoff unless that falls past the retry window.
func (w *Worker) decide(m *job.WebhookMessage, out outcome, now time.Time) (string, time.Time) {
	switch {
	case out.status >= 200 && out.status <= 299:
		return job.DeliveryDelivered, time.Time{}
	case out.status == http.StatusGone || out.permanent:
		return job.DeliveryFailed, time.Time{}
	}
	next := now.Add(w.cfg.backoff(m.Attempts + 1))
	if next.After(m.RetryFrom.Add(w.cfg.RetryFor)) {
		return job.DeliveryFailed, time.Time{}
	}
	return job.DeliveryPending, next
}

// send POSTs m, signed for time at, and reads at most MaxResponseBytes of
// the answer.
func (w *Worker) send(ctx context.Context, m *job.WebhookMessage, at time.Time) outcome {
	body, err := w.body(ctx, m)
	if err != nil {
		return outcome{err: "render: " + err.Error()}
	}
	if w.cfg.CheckURL != nil {
		if err := w.cfg.CheckURL(m.URL); err != nil {
			return outcome{err: err.Error(), permanent: true}
		}
	}
	actx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, m.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: "invalid url", permanent: true}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "comfygate-webhooks")
	h.Set("webhook-id", m.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sign(w.cfg.Secrets, m.ID, at, body))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return w.transportError(actx, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, w.cfg.MaxResponseBytes))
	resp.Body.Close()
	return outcome{status: resp.StatusCode}
}

// body renders m's payload.
func (w *Worker) body(ctx context.Context, m *job.WebhookMessage) ([]byte, error) {
	data, err := w.cfg.Render(ctx, m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(payload{Type: m.Type, Timestamp: m.CreatedAt.UTC(), Data: data})
}

// transportError says why there was no answer without the URL (whose
// query string may hold a token): a timeout, a refused address, or the
// network error itself.
func (w *Worker) transportError(ctx context.Context, err error) outcome {
	var blocked *safefetch.BlockedError
	if errors.As(err, &blocked) {
		return outcome{err: blocked.Error(), permanent: true}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return outcome{err: fmt.Sprintf("no answer within %s", w.cfg.Timeout)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return outcome{err: err.Error()}
}
