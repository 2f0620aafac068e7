package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// StagedPrefix is the subfolder of a backend's input directory that holds
// the inputs comfygate stages there (see artifact.StagedName).
const StagedPrefix = artifact.StagedPrefix

// imageInputs are the node inputs that name an input file on a backend.
var imageInputs = map[string]map[string]bool{
	"LoadImage":       {"image": true},
	"LoadImageMask":   {"image": true},
	"LoadImageOutput": {"image": true},
	"VHS_LoadVideo":   {"video": true},
	"LoadVideo":       {"file": true},
	"LoadAudio":       {"audio": true},
}

// stageGraphInputs rewrites every file input of g that refers to comfygate
// content — an upload id, a data: URL or an http(s) URL — into a staged
// name, storing fetched content as an artifact on the way. Plain names are
// left alone (they name files already on the backends) but may not escape
// the input directory.
func (s *Service) stageGraphInputs(ctx context.Context, owner string, g workflow.Graph) error {
	for _, id := range g.IDs() {
		n := g[id]
		for input := range imageInputs[n.ClassType] {
			v, ok := n.Inputs[input].(string)
			if !ok {
				continue
			}
			staged, err := s.stageValue(ctx, owner, v)
			if err != nil {
				return &InputError{Field: fmt.Sprintf("prompt.%s.inputs.%s", id, input), Problem: err.Error()}
			}
			n.Inputs[input] = staged
		}
	}
	return nil
}

func (s *Service) stageValue(ctx context.Context, owner, v string) (string, error) {
	switch {
	case artifact.ValidID(v):
		return s.stagedFor(ctx, v)
	case isStaged(v):
		id, _, _ := artifact.ParseStaged(v)
		return s.stagedFor(ctx, id)
	case strings.HasPrefix(v, "data:"):
		return s.stageDataURL(ctx, owner, v)
	case strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "https://"):
		return s.stageURL(ctx, owner, v)
	case escapesInputDir(v):
		return "", fmt.Errorf("file name %q may not leave the input directory", v)
	default:
		return v, nil
	}
}

// escapesInputDir reports names that could reach outside a backend's
// input directory (ComfyUI's LoadImage validator only checks existence).
func escapesInputDir(v string) bool {
	return strings.Contains(v, "..") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, `\`) ||
		(len(v) > 1 && v[1] == ':') || strings.ContainsRune(v, 0)
}

// stagedFor returns the staged name of a stored artifact.
func (s *Service) stagedFor(ctx context.Context, id string) (string, error) {
	a, err := s.cfg.Store.GetArtifact(ctx, id)
	if errors.Is(err, job.ErrNotFound) {
		return "", fmt.Errorf("no upload with id %s", id)
	}
	if err != nil {
		return "", err
	}
	return artifact.StagedName(id, a.ContentType), nil
}

func (s *Service) stageDataURL(ctx context.Context, owner, v string) (string, error) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(v, "data:"), ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return "", errors.New("data URL must be base64 (data:<type>;base64,<data>)")
	}
	ctype := strings.TrimSuffix(meta, ";base64")
	r := base64.NewDecoder(base64.StdEncoding, strings.NewReader(payload))
	return s.storeInput(ctx, owner, r, ctype, "inline")
}

func (s *Service) stageURL(ctx context.Context, owner, v string) (string, error) {
	if s.cfg.Fetcher == nil {
		return "", errors.New("URL inputs are disabled on this server")
	}
	body, ctype, err := s.cfg.Fetcher.Fetch(ctx, v)
	if err != nil {
		return "", err
	}
	defer body.Close()
	return s.storeInput(ctx, owner, body, ctype, v)
}

// storeInput stores content as an input artifact and returns its staged name.
func (s *Service) storeInput(ctx context.Context, owner string, r io.Reader, ctype, name string) (string, error) {
	info, err := s.cfg.Artifacts.Put(ctx, r, artifact.PutOptions{MaxSize: s.cfg.MaxUploadBytes, ContentType: ctype})
	if err != nil {
		return "", inputStoreError(err, s.cfg.MaxUploadBytes)
	}
	a := &job.Artifact{ID: info.ID, ContentType: info.ContentType, Size: info.Size, Owner: owner, Filename: name, Kind: job.ArtifactInput}
	if err := s.cfg.Store.PutArtifact(ctx, a); err != nil {
		return "", fmt.Errorf("record input: %w", err)
	}
	return artifact.StagedName(info.ID, info.ContentType), nil
}

func inputStoreError(err error, limit int64) error {
	if errors.Is(err, artifact.ErrTooLarge) {
		return fmt.Errorf("file is larger than the %d byte limit", limit)
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Errorf("data URL: invalid base64 at byte %d", int64(ce))
	}
	return err
}

func isStaged(v string) bool {
	_, _, ok := artifact.ParseStaged(v)
	return ok
}
