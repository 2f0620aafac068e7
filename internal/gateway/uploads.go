package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
)

// Upload stores an input file; its id can be given as an image parameter.
// The record returned names the stored blob (ID, ContentType, Size) and the
// file name it is offered under.
func (s *Service) Upload(ctx context.Context, owner string, r io.Reader, filename, contentType string) (*job.Artifact, error) {
	info, err := s.cfg.Artifacts.Put(ctx, r, artifact.PutOptions{MaxSize: s.cfg.MaxUploadBytes, ContentType: contentType})
	if errors.Is(err, artifact.ErrTooLarge) {
		return nil, &InputError{Field: "file", Problem: fmt.Sprintf("larger than the %d byte limit", s.cfg.MaxUploadBytes)}
	}
	if err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	return s.recordInput(ctx, owner, info, safeName(filename))
}

// recordInput records a stored blob as owner's input file.
func (s *Service) recordInput(ctx context.Context, owner string, info artifact.Info, name string) (*job.Artifact, error) {
	a := &job.Artifact{ID: info.ID, ContentType: info.ContentType, Size: info.Size, Owner: owner, Filename: name, Kind: job.ArtifactInput}
	if err := s.cfg.Store.PutArtifact(ctx, a); err != nil {
		return nil, fmt.Errorf("record input %s: %w", info.ID, err)
	}
	return a, nil
}

// Artifact is an open stored file.
type Artifact struct {
	artifact.Blob
	meta *job.Artifact
}

// Name is the file name to offer downloaders.
func (a *Artifact) Name() string { return downloadName(a.meta) }

// downloadName is the file name a stored file is offered under.
func downloadName(meta *job.Artifact) string {
	if meta.Filename != "" {
		return path.Base(meta.Filename)
	}
	return meta.ID + "." + artifact.Ext(meta.ContentType)
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
	meta, err := s.ownedArtifact(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	b, err := s.cfg.Artifacts.Open(ctx, id)
	if err != nil {
		return nil, notFound("artifact", id, err)
	}
	return &Artifact{Blob: b, meta: meta}, nil
}

// ownedArtifact loads the caller's record of a stored file: downloads and
// file inputs both check through here. A blob is the caller's when the
// caller stored it (uploaded it, or a job of theirs wrote it), whoever
// else stored the same bytes; with authentication off (caller "") every
// blob is. Another owner's blob is not found, so ids cannot be probed.
func (s *Service) ownedArtifact(ctx context.Context, owner, id string) (*job.Artifact, error) {
	var (
		a   *job.Artifact
		err error
	)
	if owner == "" {
		a, err = s.cfg.Store.GetArtifact(ctx, id)
	} else {
		a, err = s.cfg.Store.GetOwnedArtifact(ctx, id, owner)
	}
	if err != nil {
		return nil, notFound("artifact", id, err)
	}
	return a, nil
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

// Bounds of a download link's lifetime (SigV4 allows at most 7 days).
const (
	DefaultLinkExpiry = 15 * time.Minute
	MaxLinkExpiry     = 7 * 24 * time.Hour
)

// ArtifactLink is a URL that downloads a stored file straight from the
// artifact store, without credentials, until Expires.
type ArtifactLink struct {
	URL     string
	Expires time.Time
}

// LinkArtifact hands out a download link for a file the caller may read,
// valid for expires (DefaultLinkExpiry when zero). Only a store that can
// presign (S3) has links; on local disk the file is served by comfygate
// itself, which is a conflict naming the route to use instead.
func (s *Service) LinkArtifact(ctx context.Context, owner, id string, expires time.Duration) (ArtifactLink, error) {
	if !artifact.ValidID(id) {
		return ArtifactLink{}, &InputError{Field: "id", Problem: "must be 64 lowercase hex digits"}
	}
	if expires == 0 {
		expires = DefaultLinkExpiry
	}
	if expires < time.Second || expires > MaxLinkExpiry {
		return ArtifactLink{}, &InputError{Field: "expires", Problem: fmt.Sprintf("%v is out of range: want 1s to %v", expires, MaxLinkExpiry)}
	}
	meta, err := s.ownedArtifact(ctx, owner, id)
	if err != nil {
		return ArtifactLink{}, err
	}
	p, ok := s.cfg.Artifacts.(artifact.Presigner)
	if !ok {
		return ArtifactLink{}, &ConflictError{Code: "links_unsupported", Message: fmt.Sprintf(
			"the artifact store (a local directory) hands out no download links; download the file at /v1/artifacts/%s", id)}
	}
	now := time.Now()
	u, err := p.PresignGet(ctx, id, artifact.PresignOptions{Expires: expires, Name: downloadName(meta)})
	if err != nil {
		return ArtifactLink{}, notFound("artifact", id, err)
	}
	return ArtifactLink{URL: u, Expires: now.Add(expires).UTC().Truncate(time.Second)}, nil
}
