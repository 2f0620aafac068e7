package comfyapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/job"
)

// The listings (/queue, /history, /api/jobs, and the clear routes) walk
// the caller's jobs lean (without their prompts, parameters, extra data
// and history entries: job.JobFilter.Lean), in pages sized by the
// records' bytes, filter and order the lean records, and load each listed
// job whole as its entry is written. Whatever the backlog and however
// large its prompts, a listing holds lean records and one whole job at a
// time, and its answer streams once it outgrows a buffer.

// Sizes of the walk.
const (
	// scanBudget is the bytes of lean job records one page aims at.
	scanBudget = 4 << 20
	// firstPage is the first page's size, before any job was weighed.
	firstPage = 100
)

// jobBytes estimates the memory of a lean job record.
func jobBytes(j *job.Job) int {
	return 1024 + len(j.Comfy) + 256*(len(j.Outputs)+len(j.AttemptLog))
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
		f.Limit = min(max(scanBudget/max(size/len(page), 1), 1), job.MaxListLimit)
	}
	return nil
}

// listJobs returns up to limit of owner's jobs in states, lean, in order
// (oldest first with job.OrderAsc).
func (h *Handler) listJobs(ctx context.Context, owner string, states []job.State, limit int, order job.Order) ([]*job.Job, error) {
	var out []*job.Job
	err := h.walk(ctx, job.JobFilter{Owner: owner, States: states, Order: order}, limit, func(j *job.Job) bool {
		out = append(out, j)
		return true
	})
	return out, err
}

// whole loads a lean job's whole record.
func (h *Handler) whole(ctx context.Context, lean *job.Job) (*job.Job, error) {
	return h.store.GetJob(ctx, lean.ID)
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
