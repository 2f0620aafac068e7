package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// errOutputsGone: an output file named in history is gone from the backend
// and no earlier copy is known (the cache pitfall; see cachebust.go).
var errOutputsGone = errors.New("output files are gone from the backend")

// viewError: downloading an output failed for a reason other than absence.
type viewError struct{ err error }

func (e *viewError) Error() string {
	return "copying an output off the backend failed: " + e.err.Error()
}
func (e *viewError) Unwrap() error { return e.err }

// blobKept reports whether an earlier copy is still stored: deleting the
// jobs that made it (DELETE /v1/jobs, retention) removes the blob.
func (r *run) blobKept(ctx context.Context, id string) bool {
	b, err := r.f.arts.OpenBlob(ctx, id)
	if err != nil {
		if !errors.Is(err, ErrBlobNotFound) {
			r.f.log.Warn("fleet: earlier copy of an output unreadable", "job", r.jobID, "blob", id, "err", err)
		}
		return false
	}
	b.Close()
	return true
}

// maxTextOutput bounds one text output kept in the job.
const maxTextOutput = 1 << 20

// collect copies every output of the run into the artifact store and
// returns them in node order. Only the job's OutputNodes are collected when
// it names some.
func (r *run) collect(ctx context.Context, entry comfy.HistoryEntry) ([]job.Output, error) {
	ids := sortedKeys(entry.Outputs)
	slices.SortFunc(ids, compareNodeIDs)
	cached := cachedNodes(entry.Status.Messages)
	var outs []job.Output
	for _, id := range ids {
		if len(r.outputNodes) > 0 && !slices.Contains(r.outputNodes, id) {
			continue
		}
		raw := entry.Outputs[id]
		files, err := comfy.NodeOutputFiles(raw)
		if err != nil {
			return nil, fmt.Errorf("outputs of node %s: %w", id, err)
		}
		for _, f := range files {
			o, err := r.copyOutput(ctx, id, f, cached[id])
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
		for _, t := range textOutputs(raw) {
			outs = append(outs, job.Output{NodeID: id, Kind: "text", Text: t})
		}
	}
	return outs, nil
}

// copyOutput copies one file off the backend into the artifact store. A
// node ComfyUI answered from its cache (cached) names the files of an
// earlier run: a copy this process made of one is used instead while its
// blob is still stored, so each file is fetched once. A file that is gone
// is answered from such a copy too, if there is one.
func (r *run) copyOutput(ctx context.Context, nodeID string, f comfy.OutputFile, cached bool) (job.Output, error) {
	rec, known := r.b.fileFor(f.FileRef)
	var err error
	if cached && known && r.blobKept(ctx, rec.ArtifactID) {
		rec, err = r.fromCopy(ctx, f.FileRef, rec)
	} else {
		rec, err = r.download(ctx, f.FileRef)
		if errors.Is(err, comfy.ErrNotFound) {
			if rec, known = r.b.fileFor(f.FileRef); !known || !r.blobKept(ctx, rec.ArtifactID) {
				return job.Output{}, fmt.Errorf("%w: %s", errOutputsGone, f.Filename)
			}
			rec, err = r.fromCopy(ctx, f.FileRef, rec)
		}
	}
	if err != nil {
		return job.Output{}, err
	}
	name := f.Filename
	if rec.Filename != "" {
		name = rec.Filename
	} else {
		// Only the backend's own bytes answer for its file later: a copy
		// in one job's delivery format is not another job's output.
		r.b.recordFile(f.FileRef, rec)
	}
	// The artifact's record is written with the job's end (see succeed).
	return job.Output{
		ArtifactID: rec.ArtifactID, NodeID: nodeID, Kind: f.Kind, Filename: name,
		Subfolder: f.Subfolder, Type: f.Type, ContentType: rec.ContentType, Size: rec.Size,
	}, nil
}

// download streams one file into the artifact store: from the backend's
// output directory when it can (outdisk.go), else through /view. No
// timeout but ctx: a large video over a slow link must not be cut off.
func (r *run) download(ctx context.Context, ref comfy.FileRef) (fileRecord, error) {
	if f, ok := r.openOnDisk(ref); ok {
		defer f.Close()
		return r.storeOutput(ctx, f, contentType("", ref.Filename), ref, time.Time{})
	}
	start := time.Now()
	resp, err := r.b.client.View(ctx, ref, comfy.ViewOptions{})
	if err != nil {
		if errors.Is(err, comfy.ErrNotFound) {
			return fileRecord{}, err
		}
		return fileRecord{}, &viewError{err}
	}
	defer resp.Body.Close()
	return r.storeOutput(ctx, resp.Body, contentType(resp.ContentType, ref.Filename), ref, start)
}

// storeOutput copies one output file into the artifact store, at most
// MaxOutputBytes of it, in the job's delivery format if it asks for one.
// start is when its download began, zero for a file read from disk.
func (r *run) storeOutput(ctx context.Context, src io.Reader, ctype string, ref comfy.FileRef, start time.Time) (fileRecord, error) {
	body := &capReader{r: src, n: r.f.cfg.MaxOutputBytes}
	if wantsFormat(r.format, ctype) {
		return r.storeFormatted(ctx, ref, body, ctype, start)
	}
	id, size, err := r.f.arts.PutBlob(ctx, body, ctype)
	r.observeView(start, err)
	if err != nil {
		switch {
		case body.readErr != nil:
			return fileRecord{}, &viewError{body.readErr}
		case errors.Is(err, errTooLarge):
			return fileRecord{}, fmt.Errorf("%s: %w (limit %d bytes)", ref.Filename, err, r.f.cfg.MaxOutputBytes)
		}
		return fileRecord{}, fmt.Errorf("store %s: %w", ref.Filename, err)
	}
	return fileRecord{ArtifactID: id, ContentType: ctype, Size: size}, nil
}

// fromCopy answers ref with this process's earlier copy of it, rec,
// re-encoded when the job wants its outputs in another format.
func (r *run) fromCopy(ctx context.Context, ref comfy.FileRef, rec fileRecord) (fileRecord, error) {
	if !wantsFormat(r.format, rec.ContentType) {
		return rec, nil
	}
	b, err := r.f.arts.OpenBlob(ctx, rec.ArtifactID)
	if err != nil {
		return fileRecord{}, fmt.Errorf("read the earlier copy of %s: %w", ref.Filename, err)
	}
	defer b.Close()
	return r.storeOutput(ctx, b, rec.ContentType, ref, time.Time{})
}

// observeView records a download through /view that began at start; a
// file read from disk (zero start) is none.
func (r *run) observeView(start time.Time, err error) {
	if !start.IsZero() {
		r.f.m.observeRequest(r.b.ID(), "view", time.Since(start), err)
	}
}

// contentType prefers the backend's answer unless it is generic.
func contentType(fromServer, filename string) string {
	if fromServer != "" && fromServer != "application/octet-stream" {
		return fromServer
	}
	if t := mime.TypeByExtension(path.Ext(filename)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// cachedNodes are the nodes of a run's execution_cached message.
func cachedNodes(msgs []comfy.StatusMessage) map[string]bool {
	out := map[string]bool{}
	for _, m := range msgs {
		if m.Event != comfy.EventExecutionCached {
			continue
		}
		if ev, err := m.Decode(); err == nil {
			if c, ok := ev.(comfy.ExecutionCached); ok {
				for _, n := range c.Nodes {
					out[n] = true
				}
			}
		}
	}
	return out
}

// textOutputs returns the strings of a node's "text" UI output (PreviewAny
// and similar nodes: {"text": ["..."]}).
func textOutputs(raw json.RawMessage) []string {
	var out struct {
		Text []json.RawMessage `json:"text"`
	}
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	var texts []string
	for _, t := range out.Text {
		var s string
		if json.Unmarshal(t, &s) == nil {
			if len(s) > maxTextOutput {
				s = s[:maxTextOutput]
			}
			texts = append(texts, s)
		}
	}
	return texts
}
