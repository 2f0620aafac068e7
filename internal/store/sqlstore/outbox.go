package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

var _ job.WebhookStore = (*Store)(nil)

const msgCols = `seq, id, job_id, owner, event_seq, type, url, host, job, state, attempts,
 created_at, retry_from, next_attempt_at, ended_at, lease_owner, lease_until`

// queueWebhooks is the outbox rule of job.WebhookStore: for each stored
// event of j that j's webhook wants, a pending message, in the caller's
// transaction. It returns how many it queued.
func (s *Store) queueWebhooks(ctx context.Context, q Querier, j *job.Job, evs []job.Event) (int, error) {
	n := 0
	for _, e := range evs {
		if !j.WantsWebhook(e.Type) {
			continue
		}
		if err := s.insertMessage(ctx, q, j, e); err != nil {
			return n, fmt.Errorf("queue webhook for event %d: %w", e.Seq, err)
		}
		n++
	}
	return n, nil
}

func (s *Store) insertMessage(ctx context.Context, q Querier, j *job.Job, e job.Event) error {
	snap, err := json.Marshal(webhookSnapshot(j))
	if err != nil {
		return err
	}
	id := "msg_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	t := s.timeArg(e.Time)
	_, err = q.ExecContext(ctx, s.sql(`INSERT INTO webhook_messages (id, job_id, owner, event_seq, type, url, host, job,
 state, attempts, created_at, retry_from, next_attempt_at, lease_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, '')`),
		id, j.ID, j.Owner, e.Seq, job.WebhookType(e.Type), j.Webhook, job.WebhookHost(j.Webhook), string(snap),
		job.DeliveryPending, t, t, t)
	return err
}

// webhookSnapshot is what a message keeps of its job: everything the
// payload may show, without the graph and ComfyUI's records (large) and
// extra_data (may hold credentials).
func webhookSnapshot(j *job.Job) *job.Job {
	c := *j
	c.Graph, c.ExtraData, c.Comfy, c.ComfyHistory = nil, nil, nil, nil
	return &c
}

// WebhookQueued implements job.WebhookStore.
func (s *Store) WebhookQueued() <-chan struct{} { return s.queued }

// signalQueued tells the delivery worker that n messages were committed.
func (s *Store) signalQueued(n int) {
	if n == 0 {
		return
	}
	select {
	case s.queued <- struct{}{}:
	default: // a signal is already waiting; one is enough
	}
}

// ClaimWebhooks implements job.WebhookStore. The subquery picks the due
// messages, each the earliest pending one of its job; on PostgreSQL it
// skips rows another replica is claiming right now (FOR UPDATE SKIP
// LOCKED), and the lease keeps them apart afterwards.
func (s *Store) ClaimWebhooks(ctx context.Context, c job.WebhookClaim) ([]*job.WebhookMessage, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	if c.Limit <= 0 || c.Owner == "" {
		return nil, fmt.Errorf("claim webhooks: %w: limit must be positive and owner set", job.ErrInvalid)
	}
	now := s.timeArg(c.Now)
	if due, err := s.anyDue(ctx, now); err != nil || !due {
		return nil, err
	}
	args := []any{c.Owner, s.timeArg(c.LeaseUntil), job.DeliveryPending, now, now}
	skip := ""
	if len(c.SkipHosts) > 0 {
		skip = ` AND m.host NOT IN (?` + strings.Repeat(`, ?`, len(c.SkipHosts)-1) + `)`
		for _, h := range c.SkipHosts {
			args = append(args, h)
		}
	}
	args = append(args, job.DeliveryPending, c.Limit)
	query := `UPDATE webhook_messages SET lease_owner = ?, lease_until = ? WHERE seq IN (
 SELECT m.seq FROM webhook_messages m WHERE m.state = ? AND m.next_attempt_at <= ?
 AND (m.lease_until IS NULL OR m.lease_until <= ?)` + skip + `
 AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.job_id = m.job_id AND p.state = ? AND p.seq < m.seq)
 ORDER BY m.next_attempt_at, m.seq LIMIT ?` + s.d.SkipLocked + `) RETURNING ` + msgCols
	var out []*job.WebhookMessage
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		out, err = s.queryMessages(ctx, q, query, args...)
		return err
	})
	if err != nil {
		return nil, s.fail("claim webhooks", err)
	}
	sortBySeq(out)
	return out, nil
}

// anyDue is a read-only look before the claim, which is a write: an idle
// outbox then costs the writer nothing.
func (s *Store) anyDue(ctx context.Context, now any) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT 1 FROM webhook_messages WHERE state = ? AND next_attempt_at <= ?
 AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1`), job.DeliveryPending, now, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("claim webhooks", err)
	}
	return true, nil
}

func sortBySeq(ms []*job.WebhookMessage) {
	for i := 1; i < len(ms); i++ {
		for k := i; k > 0 && ms[k].Seq < ms[k-1].Seq; k-- {
			ms[k], ms[k-1] = ms[k-1], ms[k]
		}
	}
}

func (s *Store) queryMessages(ctx context.Context, q Querier, query string, args ...any) ([]*job.WebhookMessage, error) {
	rows, err := q.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*job.WebhookMessage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMessage(sc scanner) (*job.WebhookMessage, error) {
	var (
		m    job.WebhookMessage
		snap []byte
	)
	err := sc.Scan(&m.Seq, &m.ID, &m.JobID, &m.Owner, &m.EventSeq, &m.Type, &m.URL, &m.Host, &snap,
		&m.State, &m.Attempts, timeCol{&m.CreatedAt}, timeCol{&m.RetryFrom}, timeCol{&m.NextAttemptAt},
		timeCol{&m.EndedAt}, &m.LeaseOwner, timeCol{&m.LeaseUntil})
	if err != nil {
		return nil, err
	}
	m.Job = new(job.Job)
	if err := json.Unmarshal(snap, m.Job); err != nil {
		return nil, fmt.Errorf("decode webhook message %s: %w", m.ID, err)
	}
	return &m, nil
}

// queueEventWebhook applies the outbox rule to an event appended on its
// own: the job is read (in the transaction) only for event types a
// webhook can be told of.
func (s *Store) queueEventWebhook(ctx context.Context, q Querier, e job.Event) (int, error) {
	if job.WebhookType(e.Type) == "" {
		return 0, nil
	}
	j, err := scanJob(q.QueryRowContext(ctx, s.sql(`SELECT `+jobCols+fromJobs+` WHERE id = ?`), e.JobID))
	if err != nil {
		return 0, err
	}
	return s.queueWebhooks(ctx, q, j, []job.Event{e})
}
