package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
)

// Upload stores an input file; its id can be given as an image parameter.
func (s *Service) Upload(ctx context.Context, owner string, r io.Reader, filename, contentType string) (api.Upload, error) {
	name := safeName(filename)
	info, err := s.cfg.Artifacts.Put(ctx, r, artifact.PutOptions{MaxSize: s.cfg.MaxUploadBytes, ContentType: contentType})
	if errors.Is(err, artifact.ErrTooLarge) {
		return api.Upload{}, &InputError{Field: "file", Problem: fmt.Sprintf("larger than the %d byte limit", s.cfg.MaxUploadBytes)}
	}
	if err != nil {
		return api.Upload{}, fmt.Errorf("store upload: %w", err)
	}
	a := &job.Artifact{ID: info.ID, ContentType: info.ContentType, Size: info.Size, Owner: owner, Filename: name, Kind: job.ArtifactInput}
	if err := s.cfg.Store.PutArtifact(ctx, a); err != nil {
		return api.Upload{}, fmt.Errorf("record upload: %w", err)
	}
	return api.Upload{ID: info.ID, Filename: name, ContentType: info.ContentType, Size: info.Size, URL: "/v1/artifacts/" + info.ID}, nil
}

// Artifact is an open stored file.
type Artifact struct {
	artifact.Blob
	meta *job.Artifact
}

// Name is the file name to offer downloaders.
func (a *Artifact) Name() string {
	if a.meta.Filename != "" {
		return path.Base(a.meta.Filename)
	}
	return a.meta.ID + "." + artifact.Ext(a.meta.ContentType)
}

// ContentType is the stored content type.
func (a *Artifact) ContentType() string { return a.Blob.Info().ContentType }

// Size is the file size in bytes.
func (a *Artifact) Size() int64 { return a.Blob.Info().Size }

// ModTime is when the file was stored.
func (a *Artifact) ModTime() time.Time { return a.Blob.ModTime() }

// ETag is the strong entity tag: the content hash.
func (a *Artifact) ETag() string { return `"` + a.meta.ID + `"` }

// OpenArtifact opens a stored file the caller may read.
func (s *Service) OpenArtifact(ctx context.Context, owner, id string) (*Artifact, error) {
	if !artifact.ValidID(id) {
		return nil, &InputError{Field: "id", Problem: "must be 64 lowercase hex digits"}
	}
	meta, err := s.cfg.Store.GetArtifact(ctx, id)
	if err != nil {
		return nil, notFound("artifact", id, err)
	}
	if owner != "" && meta.Owner != owner {
		return nil, fmt.Errorf("artifact %q: %w", id, ErrNotFound)
	}
	b, err := s.cfg.Artifacts.Open(ctx, id)
	if err != nil {
		return nil, notFound("artifact", id, err)
	}
	return &Artifact{Blob: b, meta: meta}, nil
}

// safeName keeps the base name of an uploaded file, without control
// characters, for display and Content-Disposition only.
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		return "upload"
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}
