package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// maxTextOutput bounds one text output kept in the job.
const maxTextOutput = 1 << 20

// collect copies every output of the run into the artifact store and
// returns them in node order. Only the job's OutputNodes are collected when
// it names some.
func (r *run) collect(ctx context.Context, entry comfy.HistoryEntry) ([]job.Output, error) {
	ids := sortedKeys(entry.Outputs)
	slices.SortFunc(ids, compareNodeIDs)
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
			o, err := r.copyOutput(ctx, id, f)
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

// copyOutput streams one file from the backend's /view into the artifact
// store. A file that is gone is answered from an earlier
// copy of the same file, if this process made one.
func (r *run) copyOutput(ctx context.Context, nodeID string, f comfy.OutputFile) (job.Output, error) {
	rec, err := r.download(ctx, f.FileRef)
	if errors.Is(err, comfy.ErrNotFound) {
		var ok bool
		if rec, ok = r.b.fileFor(f.FileRef); !ok {
			return job.Output{}, fmt.Errorf("%w: %s", errOutputsGone, f.Filename)
		}
	} else if err != nil {
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

// download streams one file into the artifact store. No timeout but ctx:
// a large video over a slow link must not be cut off.
func (r *run) download(ctx context.Context, ref comfy.FileRef) (fileRecord, error) {
	start := time.Now()
	resp, err := r.b.client.View(ctx, ref, comfy.ViewOptions{})
	if err != nil {
		if errors.Is(err, comfy.ErrNotFound) {
			return fileRecord{}, err
		}
		return fileRecord{}, &viewError{err}
	}
	defer resp.Body.Close()
	ctype := contentType(resp.ContentType, ref.Filename)
	body := &capReader{r: resp.Body, n: r.f.cfg.MaxOutputBytes}
	if wantsFormat(r.format, ctype) {
		return r.storeFormatted(ctx, ref, body, ctype, start)
	}
	id, size, err := r.f.arts.PutBlob(ctx, body, ctype)
	r.f.m.observeRequest(r.b.ID(), "view", time.Since(start), err)
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
