package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// stageError is a failure to stage an input. permanent means retrying on
// another backend cannot help (the artifact does not exist).
type stageError struct {
	input     string
	permanent bool
	err       error
}

func (e *stageError) Error() string { return fmt.Sprintf("stage input %s: %v", e.input, e.err) }
func (e *stageError) Unwrap() error { return e.err }

// stage uploads every artifact the graph names ("comfygate/<sha256>.<ext>")
// to the backend, into input/comfygate/<sha256>.<ext>. Names are content
// hashes, so a file already uploaded to this backend by this process is
// skipped, and a repeated upload is harmless: ComfyUI keeps one copy of
// identical bytes under one name.
func (r *run) stage(ctx context.Context) error {
	if r.req == nil {
		return nil
	}
	for _, in := range r.req.Inputs {
		if r.b.isUploaded(in.Filename()) {
			continue
		}
		if err := r.upload(ctx, in); err != nil {
			return err
		}
		r.b.markUploaded(in.Filename())
	}
	return nil
}

func (r *run) upload(ctx context.Context, in StagedInput) error {
	body, err := r.f.arts.OpenBlob(ctx, in.Hash)
	if err != nil {
		return &stageError{input: in.Value, permanent: errors.Is(err, ErrBlobNotFound), err: err}
	}
	defer body.Close()
	uctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	res, err := r.b.client.UploadImage(uctx, comfy.Upload{
		Name: in.Filename(), Body: body, Subfolder: stagedSubfolder, Type: comfy.FileTypeInput,
	})
	r.f.m.observeRequest(r.b.ID(), "upload", time.Since(start), err)
	if err != nil {
		return &stageError{input: in.Value, err: err}
	}
	if res.Name != in.Filename() {
		// Only different bytes under the same name get renamed, which a
		// content hash rules out unless someone else wrote the file.
		return &stageError{input: in.Value, err: fmt.Errorf("backend stored it as %q", res.Name)}
	}
	return nil
}
