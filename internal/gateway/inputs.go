package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// StagedPrefix is the subfolder of a backend's input directory that holds
// files comfygate stages there. A staged name is "comfygate/<sha256>.<ext>",
// so the graph itself says which artifact each input needs: the fleet
// uploads it to whichever backend the job lands on, just before dispatch.
const StagedPrefix = "comfygate/"

var (
	artifactID = regexp.MustCompile(`^[0-9a-f]{64}$`)
	stagedName = regexp.MustCompile(`^comfygate/([0-9a-f]{64})\.[a-z0-9]{1,8}$`)
)

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
	case artifactID.MatchString(v):
		return s.stagedFor(ctx, v)
	case stagedName.MatchString(v):
		return s.stagedFor(ctx, stagedName.FindStringSubmatch(v)[1])
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
	return StagedPrefix + id + "." + extFor(a.ContentType), nil
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
	return StagedPrefix + info.ID + "." + extFor(info.ContentType), nil
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

// inputExists tells the validator whether a file input names something
// that will exist on the backend: staged inputs were checked while staging;
// other names are checked by the backend itself when the job is dispatched.
func (s *Service) inputExists(context.Context) func(string) bool {
	return func(string) bool { return true }
}

// extFor picks a file extension for a content type; ComfyUI's loaders look
// at the bytes, so the extension only needs to be plausible.
func extFor(ctype string) string {
	switch ctype {
	case "image/png":
		return "png"
	case "image/jpeg":
		return "jpg"
	case "image/webp":
		return "webp"
	case "image/gif":
		return "gif"
	}
	if exts, _ := mime.ExtensionsByType(ctype); len(exts) > 0 {
		return strings.TrimPrefix(exts[0], ".")
	}
	return "bin"
}
