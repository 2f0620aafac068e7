package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/workflow"
)

// StagedPrefix is the subfolder of a backend's input directory that holds
// the inputs comfygate stages there (see artifact.StagedName).
const StagedPrefix = artifact.StagedPrefix

// fileInputs are the node inputs that name a file in a backend's input
// directory.
var fileInputs = map[string][]string{
	"LoadImage":       {"image"},
	"LoadImageMask":   {"image"},
	"LoadImageOutput": {"image"},
	"VHS_LoadVideo":   {"video"},
	"LoadVideo":       {"file"},
	"LoadAudio":       {"audio"},
}

// clientValues are the file inputs staging rewrote, as the caller gave
// them: node id → input → value.
type clientValues map[string]map[string]string

func (c *clientValues) add(id, input, v string) {
	if *c == nil {
		*c = clientValues{}
	}
	if (*c)[id] == nil {
		(*c)[id] = map[string]string{}
	}
	(*c)[id][input] = v
}

// stageInputs rewrites every file input of g that names comfygate content
// into the staged name of its blob, which the fleet uploads to whichever
// backend runs the job. It is the one place file inputs are checked, for
// every surface: content is the caller's own or refused, and a plain name
// may not leave the backend's input directory. It returns the values it
// rewrote, as given. A refusal names the request field that gave the
// value (a parameter, an override, or the prompt's node input).
func (s *Service) stageInputs(ctx context.Context, owner string, r resolved) (clientValues, error) {
	var given clientValues
	g := r.graph
	for _, id := range g.IDs() {
		n := g[id]
		for _, input := range fileInputs[n.ClassType] {
			v, ok := n.Inputs[input].(string)
			if !ok {
				continue
			}
			staged, err := s.stageValue(ctx, owner, v)
			if err != nil {
				return nil, &InputError{Field: r.field(id, input), Problem: s.TextFor(owner, err.Error())}
			}
			if staged != v {
				n.Inputs[input] = staged
				given.add(id, input, v)
			}
		}
	}
	return given, nil
}

// stageValue returns the name the backend is to load for v: the staged
// name of an upload id, a staged name, a data: URL or an http(s) URL
// (the last two stored first), or of one of the owner's file names; any
// other name as it is, since it names a file the backends have.
func (s *Service) stageValue(ctx context.Context, owner, v string) (string, error) {
	switch {
	case artifact.ValidID(v):
		return s.stagedFor(ctx, owner, v)
	case isStaged(v):
		id, _, _ := artifact.ParseStaged(v)
		return s.stagedFor(ctx, owner, id)
	case strings.HasPrefix(v, "data:"):
		return s.stageDataURL(ctx, owner, v)
	case strings.HasPrefix(v, "http://"), strings.HasPrefix(v, "https://"):
		return s.stageURL(ctx, owner, v)
	case escapesInputDir(v):
		return "", fmt.Errorf("file name %q may not leave the input directory", v)
	}
	return s.stagedName(ctx, owner, v)
}

// escapesInputDir reports file names that could reach outside a backend's
// input directory: ComfyUI's loaders only check that the file exists. An
// annotation (" [output]") is not part of the name.
func escapesInputDir(v string) bool {
	p, _ := workflow.SplitAnnotated(v)
	return strings.Contains(p, "..") || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) ||
		(len(p) > 1 && p[1] == ':') || strings.ContainsRune(p, 0)
}

// stagedFor returns the staged name of a stored file of the owner's.
func (s *Service) stagedFor(ctx context.Context, owner, id string) (string, error) {
	a, err := s.ownedArtifact(ctx, owner, id)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("%s is not the id of an upload or output of yours", id)
	}
	if err != nil {
		return "", err
	}
	return artifact.StagedName(id, a.ContentType), nil
}

// stagedName returns the staged name of one of the owner's file names, or
// v itself when it is none of them (or its blob is gone): the backends
// may have such a file themselves.
func (s *Service) stagedName(ctx context.Context, owner, v string) (string, error) {
	if s.cfg.Names == nil {
		return v, nil
	}
	id, ok, err := s.cfg.Names.ResolveName(ctx, owner, v)
	if err != nil || !ok {
		return v, err
	}
	info, err := s.cfg.Artifacts.Stat(ctx, id)
	if err != nil {
		return v, nil
	}
	return artifact.StagedName(id, info.ContentType), nil
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
	if _, err := s.recordInput(ctx, owner, info, name); err != nil {
		return "", err
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

// InputExists answers the file checks of loader nodes (LoadImage's
// "Invalid image file") for owner, as validation asks them before
// anything is staged: a staged file of the owner's, one of the owner's
// file names, or a file the backends list in their input directories.
func (s *Service) InputExists(ctx context.Context, owner string) func(name string) bool {
	var listed []string
	if cat := s.Catalog(); cat != nil {
		listed = backendInputs(cat)
	}
	return func(name string) bool {
		if id, _, staged := artifact.ParseStaged(name); staged {
			_, err := s.ownedArtifact(ctx, owner, id)
			return err == nil
		}
		if s.cfg.Names != nil {
			if _, ok, err := s.cfg.Names.ResolveName(ctx, owner, name); err == nil && ok {
				return true
			}
		}
		return slices.Contains(listed, name)
	}
}

// backendInputs are the input files the backends list for LoadImage.
func backendInputs(cat *workflow.Catalog) []string {
	nc, ok := cat.Class("LoadImage")
	if !ok {
		return nil
	}
	in, ok := nc.Input("image")
	if !ok {
		return nil
	}
	out := make([]string, 0, len(in.Values))
	for _, v := range in.Values {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
