package comfyapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// endWindow bounds how long the new names of a running job's outputs wait
// to be stored with the job's successful end (one transaction the job
// makes anyway). A client sees a name only once it is stored, so a
// restart never loses a name that was shown; the "executed" message
// naming it waits too. The names of a graph's last nodes (ComfyUI's save
// nodes mostly are) go out with the end, which is held until it is stored
// anyway (see holdEnd); those of a node the run moves on from are stored
// as soon as it does (relay.flushNames), and so are those of a run that
// ends otherwise. This bound is for a backend that falls silent.
const endWindow = 2 * time.Second

// heldBatch is the names given to one job's outputs that wait to be
// stored together.
type heldBatch struct {
	files []*job.ComfyFile
	done  chan struct{} // closed once stored, or storing failed
	err   error         // set before done is closed
}

// storedBatch stands for names stored already.
var storedBatch = func() *heldBatch {
	b := &heldBatch{done: make(chan struct{})}
	close(b.done)
	return b
}()

// heldNames are the batches not stored yet.
type heldNames struct {
	mu      sync.Mutex            // guards the fields below
	pending map[string]*heldBatch // by job: waiting for the job's end
	ending  map[string]*heldBatch // by job: taken by its end, not stored yet
	sealed  endedSet              // jobs whose end took their names
}

func newHeldNames() heldNames {
	return heldNames{pending: map[string]*heldBatch{}, ending: map[string]*heldBatch{}, sealed: newEndedSet(maxRecent)}
}

// heldOutputName is outputName for the "executed" message of a running
// job: a new name is given in memory and stored with the job's end, or
// by flushHeld; the caller shows it once its batch is done (see
// waitStored). The store is not searched for an earlier name of the
// same file: only a cached node's file may have one (another job's),
// and an earlier run of this job that named the same file left a name
// that still resolves to it.
func (n *Names) heldOutputName(ctx context.Context, owner, jobID, backend string, ref comfy.FileRef, cached bool) (*job.ComfyFile, *heldBatch, error) {
	typ := ref.Type
	if typ == "" {
		typ = comfy.FileTypeOutput
	}
	key := originKey{owner, backend, typ, ref.Subfolder, ref.Filename}
	if prev, ok := n.recent.name(key); ok && prev.JobID == jobID {
		return &prev, storedBatch, nil
	}
	if cached {
		return n.storedOutputName(ctx, owner, jobID, backend, ref, cached)
	}
	switch f, b := n.heldFor(jobID, key); {
	case b == storedBatch:
		return n.storedOutputName(ctx, owner, jobID, backend, ref, cached)
	case b != nil:
		return f, b, nil
	}
	f := &job.ComfyFile{Owner: owner, Type: typ, Subfolder: job.ClientSubfolder(ref.Subfolder), JobID: jobID,
		Backend: backend, OriginType: typ, OriginSubfolder: ref.Subfolder, OriginFilename: ref.Filename}
	if err := n.pick(ctx, f, ref.Filename); err != nil {
		return nil, nil, err
	}
	h := &n.held
	h.mu.Lock()
	if h.sealed.has(jobID) { // its end came meanwhile
		h.mu.Unlock()
		return f, storedBatch, n.storeHeld(ctx, f)
	}
	b := h.pending[jobID]
	if b == nil {
		b = &heldBatch{done: make(chan struct{})}
		h.pending[jobID] = b
	}
	b.files = append(b.files, f)
	h.mu.Unlock()
	return f, b, nil
}

// heldFor returns the name held for the file at key and its batch, or
// storedBatch when jobID's end took its names already, or nil.
func (n *Names) heldFor(jobID string, key originKey) (*job.ComfyFile, *heldBatch) {
	h := &n.held
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range []*heldBatch{h.pending[jobID], h.ending[jobID]} {
		if b == nil {
			continue
		}
		for _, f := range b.files {
			if (originKey{f.Owner, f.Backend, f.OriginType, f.OriginSubfolder, f.OriginFilename}) == key {
				return f, b
			}
		}
	}
	if h.sealed.has(jobID) {
		return nil, storedBatch
	}
	return nil, nil
}

// storedOutputName is outputName as a record.
func (n *Names) storedOutputName(ctx context.Context, owner, jobID, backend string, ref comfy.FileRef, cached bool) (*job.ComfyFile, *heldBatch, error) {
	got, err := n.outputName(ctx, owner, jobID, backend, ref, cached)
	if err != nil {
		return nil, nil, err
	}
	return &job.ComfyFile{Filename: got.Filename, Subfolder: got.Subfolder}, storedBatch, nil
}

// storeHeld stores f under its name, or the next free one.
func (n *Names) storeHeld(ctx context.Context, f *job.ComfyFile) error {
	err := n.store.CreateComfyFile(ctx, f)
	if errors.Is(err, job.ErrConflict) {
		err = n.create(ctx, f, f.OriginFilename)
	}
	if err == nil {
		n.recent.putName(originKey{f.Owner, f.Backend, f.OriginType, f.OriginSubfolder, f.OriginFilename}, *f)
	}
	return err
}

// TakeEndNames implements fleet.EndNames: the job's end stores the names
// held for it; names given later are stored at once.
func (n *Names) TakeEndNames(jobID string) []*job.ComfyFile {
	h := &n.held
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sealed.add(jobID)
	b := h.pending[jobID]
	if b == nil {
		return nil
	}
	delete(h.pending, jobID)
	h.ending[jobID] = b
	return append([]*job.ComfyFile(nil), b.files...)
}

// EndNamesStored implements fleet.EndNames.
func (n *Names) EndNamesStored(ctx context.Context, jobID string, taken []*job.ComfyFile, err error) {
	h := &n.held
	h.mu.Lock()
	b := h.ending[jobID]
	delete(h.ending, jobID)
	h.mu.Unlock()
	if b == nil {
		return
	}
	n.finish(ctx, b, taken, err)
}

// holds reports whether names wait for jobID's end.
func (n *Names) holds(jobID string) bool {
	n.held.mu.Lock()
	defer n.held.mu.Unlock()
	return n.held.pending[jobID] != nil
}

// flushHeld stores the names held for jobID on their own: its successful
// end did not come within endWindow.
func (n *Names) flushHeld(ctx context.Context, jobID string) {
	h := &n.held
	h.mu.Lock()
	b := h.pending[jobID]
	delete(h.pending, jobID)
	h.mu.Unlock()
	if b != nil {
		n.finish(ctx, b, nil, errors.New("not stored with the job's end"))
	}
}

// finish stores what of b is not stored yet (all of it after failed, else
// the names found taken, under other names) and marks b done.
func (n *Names) finish(ctx context.Context, b *heldBatch, taken []*job.ComfyFile, failed error) {
	redo := taken
	if failed != nil {
		redo = b.files
	}
	for _, f := range b.files {
		if !contains(redo, f) {
			n.recent.putName(originKey{f.Owner, f.Backend, f.OriginType, f.OriginSubfolder, f.OriginFilename}, *f)
		}
	}
	for _, f := range redo {
		if err := n.storeHeld(ctx, f); err != nil && b.err == nil {
			b.err = err
		}
	}
	close(b.done)
}

func contains(files []*job.ComfyFile, f *job.ComfyFile) bool {
	for _, g := range files {
		if g == f {
			return true
		}
	}
	return false
}

// awaitHeld stores b, held for jobID, unless the job's end is storing
// it, and waits until it is stored.
func (n *Names) awaitHeld(ctx context.Context, jobID string, b *heldBatch) error {
	n.flushHeld(ctx, jobID)
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitStored waits until batches, held for jobID's outputs, are stored:
// with the job's end, or on their own once endWindow has passed. It
// reports false if ctx ended first.
func (n *Names) waitStored(ctx context.Context, jobID string, batches []*heldBatch) bool {
	t := time.NewTimer(endWindow)
	defer t.Stop()
	for _, b := range batches {
		select {
		case <-b.done:
			continue
		case <-ctx.Done():
			return false
		case <-t.C:
			n.flushHeld(ctx, jobID)
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
