package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/comfygate/comfygate/internal/job"
)

// jobCols lists the columns of a job in the order scanJob reads them:
// those of the jobs row and, from job_graphs (g), params, graph and
// extra_data. Read them FROM jobsFrom(…).
const jobCols = `seq, id, owner, source, workflow, workflow_version, g.params, g.graph,
 output_nodes, g.extra_data, client_id, priority, state, attempts, max_attempts,
 attempt_log, backend, progress, outputs, error_info, idempotency_key, request_hash,
 cancel_requested, webhook, number, event_seq, created_at, dispatched_at,
 started_at, finished_at, updated_at, lease_owner, lease_until, comfy, comfy_history,
 webhook_events, output_options, graph_rev`

// leanJobCols is jobCols with the large columns read as NULL
// (job.JobFilter.Lean): it names no column of job_graphs, so it is read
// FROM jobs alone.
var leanJobCols = leanColumns(jobCols, "g.params", "g.graph", "g.extra_data", "comfy_history")

// leanColumns replaces the named columns of a column list with NULL,
// keeping every position.
func leanColumns(cols string, large ...string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		for _, l := range large {
			if strings.TrimSpace(c) == l {
				parts[i] = " NULL"
			}
		}
	}
	return strings.Join(parts, ",")
}

// jobRow is a job in column form: structured fields as JSON text.
type jobRow struct {
	j                                      job.Job
	params, graph, outputNodes, extraData  []byte
	attemptLog, progress, outputs, errInfo []byte
	comfy, comfyHistory                    []byte
	webhookEvents, outputOptions           []byte
	state                                  string
	priority, attempts, maxAttempts        int64
	graphRev                               int64 // jobs.graph_rev: new with each graph row (newGraphRev)
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanJob reads one row of jobCols.
func scanJob(sc scanner) (*job.Job, error) {
	r, err := scanJobRow(sc)
	if err != nil {
		return nil, err
	}
	return r.decode()
}

// scanJobRow reads one row of jobCols in column form.
func scanJobRow(sc scanner) (*jobRow, error) {
	r := new(jobRow)
	j := &r.j
	err := sc.Scan(&j.Seq, &j.ID, &j.Owner, &j.Source, &j.Workflow, &j.WorkflowVersion,
		&r.params, &r.graph, &r.outputNodes, &r.extraData, &j.ClientID, &r.priority,
		&r.state, &r.attempts, &r.maxAttempts, &r.attemptLog, &j.Backend, &r.progress,
		&r.outputs, &r.errInfo, &j.IdempotencyKey, &j.RequestHash, &j.CancelRequested,
		&j.Webhook, &j.Number, &j.EventSeq, timeCol{&j.CreatedAt}, timeCol{&j.DispatchedAt},
		timeCol{&j.StartedAt}, timeCol{&j.FinishedAt}, timeCol{&j.UpdatedAt},
		&j.LeaseOwner, timeCol{&j.LeaseUntil}, &r.comfy, &r.comfyHistory,
		&r.webhookEvents, &r.outputOptions, &r.graphRev)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// decode fills the structured fields of r.j from their column form.
func (r *jobRow) decode() (*job.Job, error) {
	j := &r.j
	j.State = job.State(r.state)
	j.Priority, j.Attempts, j.MaxAttempts = int(r.priority), int(r.attempts), int(r.maxAttempts)
	j.Params, j.Graph, j.ExtraData = raw(r.params), raw(r.graph), raw(r.extraData)
	j.Comfy, j.ComfyHistory = raw(r.comfy), raw(r.comfyHistory)
	for _, c := range []struct {
		name string
		src  []byte
		dst  any
	}{
		{"output_nodes", r.outputNodes, &j.OutputNodes},
		{"attempt_log", r.attemptLog, &j.AttemptLog},
		{"progress", r.progress, &j.Progress},
		{"outputs", r.outputs, &j.Outputs},
		{"error_info", r.errInfo, &j.Error},
		{"webhook_events", r.webhookEvents, &j.WebhookEvents},
		{"output_options", r.outputOptions, &j.OutputOptions},
	} {
		if len(c.src) == 0 {
			continue
		}
		if err := json.Unmarshal(c.src, c.dst); err != nil {
			return nil, fmt.Errorf("decode job %s column %s: %w", j.ID, c.name, err)
		}
	}
	return j, nil
}

// raw returns b as a RawMessage, nil when empty.
func raw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// encodeJob puts j in column form with every time normalised, after
// checking the JSON fields that differ from prev (nil for a new job): a
// graph loaded from the store need not be validated again on every update.
//
// The big JSON fields (graph, params, extra_data, comfy, comfy_history) are
// copied only when the caller may hold them: a field that is still the
// very slice the store loaded into prev (fn left it alone) is the store's
// own fresh copy already, so on a transition the graph is neither
// validated nor copied.
func encodeJob(j, prev *job.Job) (*jobRow, error) {
	r := &jobRow{j: *j}
	if prev == nil {
		prev = &job.Job{}
	}
	cols := [...]struct {
		name      string
		v, before json.RawMessage
		dst       *[]byte
	}{{"params", j.Params, prev.Params, &r.params}, {"graph", j.Graph, prev.Graph, &r.graph},
		{"extra_data", j.ExtraData, prev.ExtraData, &r.extraData},
		{"comfy", j.Comfy, prev.Comfy, &r.comfy}, {"comfy_history", j.ComfyHistory, prev.ComfyHistory, &r.comfyHistory}}
	for _, f := range cols {
		if sameSlice(f.v, f.before) {
			*f.dst = f.v
			continue
		}
		if len(f.v) > 0 && !bytes.Equal(f.v, f.before) && !json.Valid(f.v) {
			return nil, fmt.Errorf("%w: job %s: %s is not valid JSON", job.ErrInvalid, j.ID, f.name)
		}
		*f.dst = clone(f.v)
	}
	if !j.State.Valid() {
		return nil, fmt.Errorf("%w: job %s: unknown state %q", job.ErrInvalid, j.ID, j.State)
	}
	r.state = string(j.State)
	r.priority, r.attempts, r.maxAttempts = int64(j.Priority), int64(j.Attempts), int64(j.MaxAttempts)
	var err error
	if r.outputNodes, err = marshalNonEmpty(len(j.OutputNodes) > 0, j.OutputNodes); err != nil {
		return nil, err
	}
	r.j.AttemptLog = append([]job.Attempt(nil), j.AttemptLog...) // normalised below, not the caller's
	for i := range r.j.AttemptLog {
		a := &r.j.AttemptLog[i]
		a.StartedAt, a.EndedAt = norm(a.StartedAt), norm(a.EndedAt)
	}
	if r.attemptLog, err = marshalNonEmpty(len(j.AttemptLog) > 0, r.j.AttemptLog); err != nil {
		return nil, err
	}
	if r.progress, err = marshalNonEmpty(j.Progress != job.Progress{}, j.Progress); err != nil {
		return nil, err
	}
	if r.outputs, err = marshalNonEmpty(len(j.Outputs) > 0, j.Outputs); err != nil {
		return nil, err
	}
	if r.errInfo, err = marshalNonEmpty(j.Error != nil, j.Error); err != nil {
		return nil, err
	}
	if r.webhookEvents, err = marshalNonEmpty(len(j.WebhookEvents) > 0, j.WebhookEvents); err != nil {
		return nil, err
	}
	if r.outputOptions, err = marshalNonEmpty(j.OutputOptions != job.OutputOptions{}, j.OutputOptions); err != nil {
		return nil, err
	}
	t := &r.j
	t.CreatedAt, t.DispatchedAt, t.StartedAt = norm(t.CreatedAt), norm(t.DispatchedAt), norm(t.StartedAt)
	t.FinishedAt, t.UpdatedAt, t.LeaseUntil = norm(t.FinishedAt), norm(t.UpdatedAt), norm(t.LeaseUntil)
	return r, nil
}

// sameSlice reports whether a and b are the same bytes in memory (not
// merely equal): a field fn did not replace.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func marshalNonEmpty(nonEmpty bool, v any) ([]byte, error) {
	if !nonEmpty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	return b, nil
}

// stored returns the job exactly as a later read returns it.
func (r *jobRow) stored() (*job.Job, error) {
	c := *r
	c.j.OutputNodes, c.j.AttemptLog, c.j.Outputs, c.j.Error = nil, nil, nil, nil
	c.j.Progress, c.j.WebhookEvents, c.j.OutputOptions = job.Progress{}, nil, job.OutputOptions{}
	return c.decode()
}

// insertArgs are the parameters of insertJobSQL.
func (s *Store) insertArgs(r *jobRow) []any {
	j := &r.j
	return []any{j.ID, j.Owner, j.Source, j.Workflow, j.WorkflowVersion, jsonArg(r.outputNodes), j.ClientID, r.priority, r.state, r.attempts, r.maxAttempts, jsonArg(r.attemptLog),
		j.Backend, jsonArg(r.progress), jsonArg(r.outputs), jsonArg(r.errInfo),
		j.IdempotencyKey, j.RequestHash, j.CancelRequested, j.Webhook, j.Number, j.EventSeq,
		s.timeArg(j.CreatedAt), s.timeArg(j.DispatchedAt), s.timeArg(j.StartedAt),
		s.timeArg(j.FinishedAt), s.timeArg(j.UpdatedAt), j.LeaseOwner, s.timeArg(j.LeaseUntil),
		jsonArg(r.comfy), jsonArg(r.comfyHistory), jsonArg(r.webhookEvents), jsonArg(r.outputOptions), r.graphRev}
}

// insertJobSQL inserts the jobs row; the graph row follows (putGraph).
const insertJobSQL = `INSERT INTO jobs (id, owner, source, workflow, workflow_version,
 output_nodes, client_id, priority, state, attempts, max_attempts, attempt_log, backend,
 progress, outputs, error_info, idempotency_key, request_hash, cancel_requested, webhook,
 number, event_seq, created_at, dispatched_at, started_at, finished_at, updated_at,
 lease_owner, lease_until, comfy, comfy_history, webhook_events, output_options, graph_rev)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT DO NOTHING RETURNING seq`

// mutableCols are the columns of the jobs row UpdateJob may change, in
// mutableValues' order (the graph row is compared apart: sameGraph).
var mutableCols = [...]string{"source", "workflow", "workflow_version",
	"output_nodes", "client_id", "priority", "state", "attempts", "max_attempts",
	"attempt_log", "backend", "progress", "outputs", "error_info", "cancel_requested", "webhook",
	"number", "event_seq", "dispatched_at", "started_at", "finished_at", "updated_at",
	"lease_owner", "lease_until", "comfy", "comfy_history", "webhook_events", "output_options", "graph_rev"}

// jsonCol is a JSON column's text in mutableValues: compared as bytes and
// turned into a parameter only when it changed, so an unchanged graph is
// not copied into a string twice per update.
type jsonCol []byte

// mutableValues are r's values of mutableCols; JSON columns as jsonCol.
func (s *Store) mutableValues(r *jobRow) [len(mutableCols)]any {
	j := &r.j
	return [...]any{j.Source, j.Workflow, j.WorkflowVersion, jsonCol(r.outputNodes), j.ClientID, r.priority, r.state, r.attempts, r.maxAttempts, jsonCol(r.attemptLog),
		j.Backend, jsonCol(r.progress), jsonCol(r.outputs), jsonCol(r.errInfo),
		j.CancelRequested, j.Webhook, j.Number, j.EventSeq,
		s.timeArg(j.DispatchedAt), s.timeArg(j.StartedAt), s.timeArg(j.FinishedAt),
		s.timeArg(j.UpdatedAt), j.LeaseOwner, s.timeArg(j.LeaseUntil),
		jsonCol(r.comfy), jsonCol(r.comfyHistory), jsonCol(r.webhookEvents), jsonCol(r.outputOptions), r.graphRev}
}

// sameValue compares two values of one mutable column. Empty JSON is
// NULL, however it is spelled.
func sameValue(a, b any) bool {
	if x, ok := a.(jsonCol); ok {
		y, _ := b.(jsonCol)
		return bytes.Equal(x, y)
	}
	return a == b
}

// param turns a mutableValues value into a statement parameter.
func param(v any) any {
	if x, ok := v.(jsonCol); ok {
		return jsonArg(x)
	}
	return v
}

// updateStmt builds the UPDATE of the columns whose values differ between
// old and new. Naming only changed columns keeps the engine from rewriting
// index entries (and their pages) that did not change: a progress update
// then leaves the state and dispatch indexes alone.
func (s *Store) updateStmt(old, new *jobRow) (string, []any) {
	was, now := s.mutableValues(old), s.mutableValues(new)
	var (
		b    strings.Builder
		args []any
	)
	b.WriteString("UPDATE jobs SET ")
	for i, v := range now {
		if sameValue(v, was[i]) {
			continue
		}
		if len(args) > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mutableCols[i] + " = ?")
		args = append(args, param(v))
	}
	b.WriteString(" WHERE id = ?")
	return b.String(), append(args, new.j.ID)
}
