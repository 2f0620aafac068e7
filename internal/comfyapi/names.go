package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// Names gives files the names clients see and finds the file a name
// stands for. Each owner has its own input, output and temp directories;
// outputs keep ComfyUI's name pattern with a counter of comfygate's own, so
// names stay unique across backends. It implements gateway.Names, so that
// file inputs of every surface may name an owner's files.
type Names struct {
	store  NameStore
	recent *recent

	held heldNames // names not stored yet

	mu   sync.Mutex     // guards last
	last map[dirKey]int // highest counter handed out per prefix
}

type dirKey struct{ owner, typ, sub, prefix string }

// NameStore is what Names keeps names in: the SQL stores implement it.
type NameStore interface {
	job.ComfyFileStore
	GetJob(ctx context.Context, id string) (*job.Job, error)
}

// NewNames returns the file names kept in s.
func NewNames(s NameStore) *Names {
	return &Names{store: s, recent: newRecent(), held: newHeldNames(), last: map[dirKey]int{}}
}

var _ gateway.Names = (*Names)(nil)

// ResolveName implements gateway.Names.
func (n *Names) ResolveName(ctx context.Context, owner, value string) (string, bool, error) {
	return n.resolveValue(ctx, owner, value)
}

// counterName matches names with a SaveImage-style counter:
// "basic_00001_.png", "ComfyUI_temp_abcde_00003_.png", "clip_00001.mp4".
var counterName = regexp.MustCompile(`^(.+)_(\d{5,})(_?(?:\.[A-Za-z0-9]+)?)$`)

// maxRenames bounds the candidates tried for one name.
const maxRenames = 1000

// outputName returns the name and subfolder owner sees for the file
// backend wrote as ref for job jobID. A file this job already showed keeps
// its name; so does a cached output ComfyUI reports again under its old
// name (cached is true for nodes of the run's execution_cached list).
// Anything else gets a new name, in the subfolder the job's graph asked
// for (without comfygate's output folder on the backend, see job.OutputFolder).
func (n *Names) outputName(ctx context.Context, owner, jobID, backend string, ref comfy.FileRef, cached bool) (comfy.FileRef, error) {
	typ := ref.Type
	if typ == "" {
		typ = comfy.FileTypeOutput
	}
	key := originKey{owner, backend, typ, ref.Subfolder, ref.Filename}
	if prev, ok := n.recent.name(key); ok && prev.JobID == jobID {
		return comfy.FileRef{Filename: prev.Filename, Subfolder: prev.Subfolder, Type: ref.Type}, nil
	}
	if f, b := n.heldFor(jobID, key); f != nil { // named for a message not sent yet
		if err := n.awaitHeld(ctx, jobID, b); err != nil {
			return comfy.FileRef{}, err
		}
		return comfy.FileRef{Filename: f.Filename, Subfolder: f.Subfolder, Type: ref.Type}, nil
	}
	prev, err := n.store.FindComfyFile(ctx, owner, backend, typ, ref.Subfolder, ref.Filename)
	switch {
	case err == nil && (prev.JobID == jobID || cached):
		if prev.JobID == jobID {
			n.recent.putName(key, *prev)
		}
		return comfy.FileRef{Filename: prev.Filename, Subfolder: prev.Subfolder, Type: ref.Type}, nil
	case err != nil && !errors.Is(err, job.ErrNotFound):
		return comfy.FileRef{}, fmt.Errorf("find name of %s: %w", ref.Filename, err)
	}
	f := &job.ComfyFile{Owner: owner, Type: typ, Subfolder: job.ClientSubfolder(ref.Subfolder), JobID: jobID,
		Backend: backend, OriginType: typ, OriginSubfolder: ref.Subfolder, OriginFilename: ref.Filename}
	if err := n.create(ctx, f, ref.Filename); err != nil {
		return comfy.FileRef{}, err
	}
	n.recent.putName(key, *f)
	return comfy.FileRef{Filename: f.Filename, Subfolder: f.Subfolder, Type: ref.Type}, nil
}

// create stores f under the first free name derived from want.
func (n *Names) create(ctx context.Context, f *job.ComfyFile, want string) error {
	m := counterName.FindStringSubmatch(want)
	if m == nil {
		return n.createPlain(ctx, f, want)
	}
	key := dirKey{f.Owner, f.Type, f.Subfolder, m[1]}
	for range maxRenames {
		if err := n.counted(ctx, f, key, m); err != nil {
			return err
		}
		err := n.store.CreateComfyFile(ctx, f)
		if !errors.Is(err, job.ErrConflict) {
			return err
		}
		n.forget(key) // another replica took it: read the store again
	}
	return fmt.Errorf("no free name for %s after %d tries", want, maxRenames)
}

// counted names f after the next counter of key; m is want's match of
// counterName.
func (n *Names) counted(ctx context.Context, f *job.ComfyFile, key dirKey, m []string) error {
	c, err := n.nextCounter(ctx, key)
	if err != nil {
		return err
	}
	f.Prefix, f.Counter = m[1], c
	f.Filename = fmt.Sprintf("%s_%0*d%s", m[1], len(m[2]), c, m[3])
	return nil
}

// pick gives f the first name create would try for want, without storing
// it: a held name (names_held.go) is stored later, under another name if
// this one is taken by then.
func (n *Names) pick(ctx context.Context, f *job.ComfyFile, want string) error {
	m := counterName.FindStringSubmatch(want)
	if m == nil {
		f.Filename = want
		return nil
	}
	return n.counted(ctx, f, dirKey{f.Owner, f.Type, f.Subfolder, m[1]}, m)
}

// createPlain stores f as want, or "stem (1).ext", "stem (2).ext", ...
func (n *Names) createPlain(ctx context.Context, f *job.ComfyFile, want string) error {
	stem, ext := splitExt(want)
	for i := range maxRenames {
		f.Filename = want
		if i > 0 {
			f.Filename = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		err := n.store.CreateComfyFile(ctx, f)
		if !errors.Is(err, job.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("no free name for %s after %d tries", want, maxRenames)
}

func (n *Names) nextCounter(ctx context.Context, key dirKey) (int, error) {
	n.mu.Lock()
	last, ok := n.last[key]
	n.mu.Unlock()
	if !ok {
		stored, err := n.store.LastComfyCounter(ctx, key.owner, key.typ, key.sub, key.prefix)
		if err != nil {
			return 0, fmt.Errorf("next counter of %s: %w", key.prefix, err)
		}
		last = stored
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	next := max(last, n.last[key]) + 1
	n.last[key] = next
	return next, nil
}

func (n *Names) forget(key dirKey) {
	n.mu.Lock()
	delete(n.last, key)
	n.mu.Unlock()
}

// splitExt is os.path.splitext of a base name: leading dots do not start
// an extension.
func splitExt(name string) (string, string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || strings.Trim(name[:dot], ".") == "" {
		return name, ""
	}
	return name[:dot], name[dot:]
}

// cleanSub normalises a subfolder as os.path.normpath does and reports
// whether it stays inside its directory.
func cleanSub(sub string) (string, bool) {
	if sub == "" {
		return "", true
	}
	if strings.HasPrefix(sub, "/") {
		return "", false
	}
	c := path.Clean(sub)
	if c == "." {
		return "", true
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// resolveValue finds the blob a LoadImage-style value names among the
// owner's files: "photo.png", "sub/photo.png", "x.png [output]".
func (n *Names) resolveValue(ctx context.Context, owner, value string) (string, bool, error) {
	p, dir := workflow.SplitAnnotated(value)
	if dir == "" {
		dir = comfy.FileTypeInput
	}
	sub, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		sub, name = p[:i], p[i+1:]
	}
	sub, ok := cleanSub(sub)
	if !ok || name == "" {
		return "", false, nil
	}
	f, err := n.store.GetComfyFile(ctx, owner, dir, sub, name)
	if errors.Is(err, job.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return n.blobOf(ctx, f)
}

// blobOf returns the blob behind a name: an upload's own, or the output
// of its job that the backend wrote under the origin name. ok is false
// while the job has not been finalized (the file is only on the backend).
func (n *Names) blobOf(ctx context.Context, f *job.ComfyFile) (string, bool, error) {
	if f.ArtifactID != "" {
		return f.ArtifactID, true, nil
	}
	outputs, ok := n.recent.jobOutputs(f.JobID)
	if !ok {
		j, err := n.store.GetJob(ctx, f.JobID)
		if errors.Is(err, job.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		n.recent.finished(j)
		outputs = j.Outputs
	}
	for _, o := range outputs {
		typ := o.Type
		if typ == "" {
			typ = comfy.FileTypeOutput
		}
		if o.ArtifactID != "" && o.Filename == f.OriginFilename && o.Subfolder == f.OriginSubfolder && typ == f.OriginType {
			return o.ArtifactID, true, nil
		}
	}
	return "", false, nil
}

// inputNames lists the top of the owner's input directory, as LoadImage's
// file list shows it.
func (n *Names) inputNames(ctx context.Context, owner string) ([]string, error) {
	files, err := n.store.ListComfyFiles(ctx, job.ComfyFileFilter{Owner: owner, Type: comfy.FileTypeInput, Limit: job.MaxComfyFileLimit})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Filename)
	}
	return out, nil
}
