package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// RecordWebhookAttempt implements job.WebhookStore. The attempt is stored
// even when the lease was lost: it happened, and the log must say so.
func (s *Store) RecordWebhookAttempt(ctx context.Context, owner string, a job.DeliveryAttempt, state string) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	switch state {
	case job.DeliveryPending, job.DeliveryDelivered, job.DeliveryFailed:
	default:
		return fmt.Errorf("record webhook attempt: %w: unknown state %q", job.ErrInvalid, state)
	}
	lost := false
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		lost, err = s.recordAttempt(ctx, q, owner, a, state)
		return err
	})
	if err != nil {
		return s.fail("record attempt of webhook message "+a.MessageID, err)
	}
	if state == job.DeliveryPending && !lost {
		s.signalQueued(1)
	}
	if lost {
		return fmt.Errorf("record attempt of webhook message %s: %w: lease lost", a.MessageID, job.ErrConflict)
	}
	return nil
}

func (s *Store) recordAttempt(ctx context.Context, q Querier, owner string, a job.DeliveryAttempt, state string) (lost bool, err error) {
	var (
		n      int
		holder string
		jobID  string
	)
	err = q.QueryRowContext(ctx, s.sql(`SELECT attempts, lease_owner, job_id FROM webhook_messages WHERE id = ?`+s.d.ForUpdate),
		a.MessageID).Scan(&n, &holder, &jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, job.ErrNotFound
	}
	if err != nil {
		return false, err
	}
	n++
	at := norm(a.At)
	if at.IsZero() {
		at = s.clock()
	}
	_, err = q.ExecContext(ctx, s.sql(`INSERT INTO webhook_attempts (message_id, n, job_id, time, duration_us,
 status_code, error, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		a.MessageID, n, jobID, s.timeArg(at), a.Duration.Microseconds(), a.StatusCode, a.Error, s.nextArg(a, state))
	if err != nil {
		return false, err
	}
	if holder != owner {
		_, err = q.ExecContext(ctx, s.sql(`UPDATE webhook_messages SET attempts = ? WHERE id = ?`), n, a.MessageID)
		return true, err
	}
	var ended any
	if state != job.DeliveryPending {
		ended = s.timeArg(at.Add(a.Duration))
	}
	_, err = q.ExecContext(ctx, s.sql(`UPDATE webhook_messages SET attempts = ?, state = ?, next_attempt_at = ?,
 ended_at = ?, lease_owner = '', lease_until = NULL WHERE id = ?`),
		n, state, s.nextArg(a, state), ended, a.MessageID)
	return false, err
}

// nextArg is the next attempt's time for a message moving to state.
func (s *Store) nextArg(a job.DeliveryAttempt, state string) any {
	if state != job.DeliveryPending {
		return nil
	}
	return s.timeArg(a.NextAttemptAt)
}

// ListWebhookMessages implements job.WebhookStore.
func (s *Store) ListWebhookMessages(ctx context.Context, jobID string) ([]*job.WebhookMessage, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	out, err := s.queryMessages(ctx, s.read, `SELECT `+msgCols+` FROM webhook_messages WHERE job_id = ? ORDER BY seq`, jobID)
	if err != nil {
		return nil, s.fail("list webhook messages of job "+jobID, err)
	}
	return out, nil
}

// ListDeliveryAttempts implements job.WebhookStore.
func (s *Store) ListDeliveryAttempts(ctx context.Context, jobID string) ([]job.DeliveryAttempt, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT a.message_id, a.job_id, a.n, a.time, a.duration_us,
 a.status_code, a.error, a.next_attempt_at FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
 WHERE a.job_id = ? ORDER BY m.seq, a.n`), jobID)
	if err != nil {
		return nil, s.fail("list delivery attempts of job "+jobID, err)
	}
	defer rows.Close()
	var out []job.DeliveryAttempt
	for rows.Next() {
		var (
			a  job.DeliveryAttempt
			us int64
		)
		if err := rows.Scan(&a.MessageID, &a.JobID, &a.N, timeCol{&a.At}, &us, &a.StatusCode, &a.Error,
			timeCol{&a.NextAttemptAt}); err != nil {
			return nil, s.fail("list delivery attempts of job "+jobID, err)
		}
		a.Duration = time.Duration(us) * time.Microsecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list delivery attempts of job "+jobID, err)
	}
	return out, nil
}

// RedeliverWebhooks implements job.WebhookStore. A lease in force is
// kept, so a message in the middle of an attempt is not sent twice at
// once.
func (s *Store) RedeliverWebhooks(ctx context.Context, jobID, messageID string, now time.Time) ([]*job.WebhookMessage, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	pick := `SELECT seq FROM webhook_messages WHERE job_id = ? ORDER BY seq DESC LIMIT 1`
	args := []any{jobID}
	if messageID != "" {
		pick = `SELECT seq FROM webhook_messages WHERE job_id = ? AND id = ?`
		args = append(args, messageID)
	}
	t := s.timeArg(now)
	var out []*job.WebhookMessage
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		out, err = s.queryMessages(ctx, q, `UPDATE webhook_messages SET state = ?, next_attempt_at = ?, retry_from = ?,
 ended_at = NULL WHERE seq IN (`+pick+`) RETURNING `+msgCols, append([]any{job.DeliveryPending, t, t}, args...)...)
		if err == nil && len(out) == 0 {
			err = job.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.fail("redeliver webhooks of job "+jobID, err)
	}
	s.signalQueued(len(out))
	return out, nil
}

// NextWebhookDue implements job.WebhookStore.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	if s.closed.Load() {
		return time.Time{}, false, job.ErrClosed
	}
	var due time.Time
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at
 THEN lease_until ELSE next_attempt_at END) FROM webhook_messages WHERE state = ?`), job.DeliveryPending).Scan(timeCol{&due})
	if err != nil {
		return time.Time{}, false, s.fail("next webhook due", err)
	}
	return due, !due.IsZero(), nil
}

// secretSetting names the generated signing secret in settings.
const secretSetting = "webhook_secret"

// WebhookSecret implements job.WebhookStore.
func (s *Store) WebhookSecret(ctx context.Context, gen func() (string, error)) (string, error) {
	if s.closed.Load() {
		return "", job.ErrClosed
	}
	if v, err := s.setting(ctx, secretSetting); err == nil || !errors.Is(err, sql.ErrNoRows) {
		if err != nil {
			return "", s.fail("webhook secret", err)
		}
		return v, nil
	}
	secret, err := gen()
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		_, err := q.ExecContext(ctx, s.sql(`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`), secretSetting, secret)
		return err
	})
	if err != nil {
		return "", s.fail("webhook secret", err)
	}
	v, err := s.setting(ctx, secretSetting) // another replica may have won
	if err != nil {
		return "", s.fail("webhook secret", err)
	}
	return v, nil
}

func (s *Store) setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	return v, err
}

// ReleaseWebhooks implements job.WebhookStore.
func (s *Store) ReleaseWebhooks(ctx context.Context, owner string) (int, error) {
	if s.closed.Load() {
		return 0, job.ErrClosed
	}
	var n int64
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		res, err := q.ExecContext(ctx, s.sql(`UPDATE webhook_messages SET lease_owner = '', lease_until = NULL
 WHERE lease_owner = ? AND state = ?`), owner, job.DeliveryPending)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return 0, s.fail("release webhooks of "+owner, err)
	}
	s.signalQueued(int(n))
	return int(n), nil
}
