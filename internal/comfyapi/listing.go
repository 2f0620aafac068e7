package comfyapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/job"
)

// The listings (/queue, /history, /api/jobs, and the clear routes) walk
// the caller's jobs lean (without their prompts, parameters, extra data
// and history entries), in pages sized by the records' bytes, keep of each
// job only what they filter and order on (a jobRef), and load each job
// whole as its entry is written. Whatever the backlog and however large
// its prompts, a listing holds a page of lean records and one whole job
// at a time, and its answer streams once it outgrows a buffer.

// Sizes of the walk.
const (
	// scanBudget is the bytes of lean job records one page aims at.
	scanBudget = 4 << 20
	// firstPage is the first page's size, before any job was weighed.
	firstPage = 100
)

// jobRef is what a listing keeps of a job.
type jobRef struct {
	id                         string
	promptID                   string
	state                      job.State
	priority                   int
	seq                        int64
	created, started, finished time.Time
	inHistory                  bool     // ComfyUI would have a history entry for it
	listed                     bool     // /api/jobs shows it
	full                       *job.Job // the whole job when the listing has it already
}

func refOf(j *job.Job) jobRef {
	m := job.ComfyMetaOf(j)
	return jobRef{
		id: j.ID, promptID: m.PromptIDFor(j), state: j.State, priority: j.Priority, seq: j.Seq,
		created: j.CreatedAt, started: j.StartedAt, finished: j.FinishedAt,
		inHistory: inHistory(j, m), listed: !m.Superseded && !m.Hidden && (!j.State.Terminal() || inHistory(j, m)),
	}
}

// jobBytes estimates the memory of a job record.
func jobBytes(j *job.Job) int {
	return 1024 + len(j.Graph) + len(j.Params) + len(j.ExtraData) + len(j.Comfy) + len(j.ComfyHistory) +
		256*(len(j.Outputs)+len(j.AttemptLog))
}

// walk calls fn with the lean jobs that f selects, in f's order, at most
// limit of them, until fn returns false. The page size follows the jobs'
// sizes so that a page weighs about scanBudget.
func (h *Handler) walk(ctx context.Context, f job.JobFilter, limit int, fn func(*job.Job) bool) error {
	f.Lean, f.Limit = true, firstPage
	for seen := 0; seen < limit; {
		f.Limit = min(f.Limit, limit-seen)
		page, next, err := h.store.ListJobs(ctx, f)
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		size := 0
		for _, j := range page {
			size += jobBytes(j)
			if seen++; !fn(j) || seen >= limit {
				return nil
			}
		}
		if next == "" || len(page) == 0 {
			return nil
		}
		f.Cursor = next
		f.Limit = clamp(scanBudget/max(size/len(page), 1), 1, job.MaxListLimit)
	}
	return nil
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

// refs walks the jobs f selects into refs: those keep accepts (nil: all).
func (h *Handler) refs(ctx context.Context, f job.JobFilter, limit int, keep func(jobRef) bool) ([]jobRef, error) {
	var out []jobRef
	err := h.walk(ctx, f, limit, func(j *job.Job) bool {
		if r := refOf(j); keep == nil || keep(r) {
			out = append(out, r)
		}
		return true
	})
	return out, err
}

// load returns the ref's whole job.
func (h *Handler) load(ctx context.Context, r jobRef) (*job.Job, error) {
	if r.full != nil {
		return r.full, nil
	}
	return h.store.GetJob(ctx, r.id)
}

// streamAfter is the size past which a JSON answer starts before it is
// whole (and so goes out without a Content-Length).
const streamAfter = 256 << 10

// jsonStream writes a JSON answer that may be large. It is held until it
// passes streamAfter bytes, so that a small answer carries its length and
// a failure before that point still gets its own status; past it, the
// answer goes out as it is made, and a failure can only cut it off.
type jsonStream struct {
	w       http.ResponseWriter
	buf     bytes.Buffer
	started bool
	err     error // the first failed write
}

func (s *jsonStream) write(p []byte) {
	if s.err != nil {
		return
	}
	s.buf.Write(p)
	if s.buf.Len() >= streamAfter {
		s.flush()
	}
}

func (s *jsonStream) writeString(p string) { s.write([]byte(p)) }

func (s *jsonStream) flush() {
	if !s.started {
		s.w.Header().Set("Content-Type", comfywire.ContentJSON)
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	_, s.err = s.w.Write(s.buf.Bytes())
	s.buf.Reset()
}

// end finishes the answer.
func (s *jsonStream) end() {
	if !s.started {
		comfywire.WriteJSONBytes(s.w, http.StatusOK, s.buf.Bytes())
		return
	}
	s.flush()
}

// fail returns err for respond while nothing was sent; once the answer
// has started, the connection is cut so the client cannot take a partial
// list for a whole one.
func (s *jsonStream) fail(err error) error {
	if !s.started {
		return err
	}
	panic(http.ErrAbortHandler)
}
