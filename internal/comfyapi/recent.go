package comfyapi

import (
	"sync"

	"github.com/comfygate/comfygate/internal/job"
)

// recent is what Names learned lately, so that a job's history and the
// downloads that follow it do not ask the store again: the records of the
// names it gave or found for a job's outputs (a record never changes once
// stored), and the outputs of finished jobs (they never change either).
// Both are bounded, the oldest going first; what is not here is asked of
// the store. /view still reads the name's record from the store, so a
// deleted job's files are not served from here.
type recent struct {
	mu      sync.Mutex // guards the fields below
	names   map[originKey]job.ComfyFile
	nameQ   []originKey
	outputs map[string][]job.Output
	outQ    []string
}

// originKey is a file as a backend wrote it for an owner.
type originKey struct{ owner, backend, typ, sub, filename string }

// maxRecent bounds each of the two tables.
const maxRecent = 4096

func newRecent() *recent {
	return &recent{names: map[originKey]job.ComfyFile{}, outputs: map[string][]job.Output{}}
}

// name returns the record last given or found for the file at k.
func (r *recent) name(k originKey) (job.ComfyFile, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.names[k]
	return f, ok
}

func (r *recent) putName(k originKey, f job.ComfyFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.names[k]; !ok {
		r.nameQ = boundedPush(r.nameQ, k, maxRecent, func(old originKey) { delete(r.names, old) })
	}
	r.names[k] = f
}

// jobOutputs returns the outputs of a finished job, if known.
func (r *recent) jobOutputs(id string) ([]job.Output, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.outputs[id]
	return o, ok
}

// finished remembers the outputs of j if it is finished.
func (r *recent) finished(j *job.Job) {
	if !j.State.Terminal() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.outputs[j.ID]; !ok {
		r.outQ = boundedPush(r.outQ, j.ID, maxRecent, func(old string) { delete(r.outputs, old) })
	}
	r.outputs[j.ID] = j.Outputs
}

// boundedPush appends k to q, dropping (and forgetting) the oldest key
// once q holds limit.
func boundedPush[K comparable](q []K, k K, limit int, forget func(K)) []K {
	if len(q) >= limit {
		forget(q[0])
		q = append(q[:0], q[1:]...)
	}
	return append(q, k)
}
