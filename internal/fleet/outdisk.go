package fleet

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// A backend on the same host can hand over its outputs through the file
// system (BackendConfig.OutputDir): reading a file is cheaper for both
// sides than ComfyUI's /view, which reads it in Python and sends it over
// HTTP, and removing each output folder once its files are stored keeps
// the backend's disk from filling with copies. Only files in comfygate's
// own output folders (outfolder.go) are touched, so nothing of the
// backend's own can be read or removed by mistake, even when the
// configured directory is the wrong one.

// diskFile returns where, relative to the output directory, the backend
// saved ref, if it is a file of one of comfygate's output folders. Names
// come from the backend and are checked here: after cleaning, the path
// must still be inside such a folder.
func diskFile(ref comfy.FileRef) (string, bool) {
	if ref.Type != "" && ref.Type != comfy.FileTypeOutput {
		return "", false
	}
	name := ref.Filename
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return "", false
	}
	rel := path.Clean(strings.ReplaceAll(ref.Subfolder, `\`, "/") + "/" + name)
	root, rest, _ := strings.Cut(rel, "/")
	key, _, ok := strings.Cut(rest, "/")
	if !ok || root+"/"+key != job.OutputFolder(key) || !job.IsOutputKey(key) {
		return "", false
	}
	return rel, true
}

// openOnDisk opens ref in the backend's output directory. ok is false when
// the backend has none configured, ref is not a file of an output folder,
// or the file cannot be opened there: the caller downloads it instead.
func (r *run) openOnDisk(ref comfy.FileRef) (*os.File, bool) {
	rel, ok := diskFile(ref)
	if !ok || !r.openOutputDir() {
		return nil, false
	}
	f, err := r.outDir.Open(rel)
	if err != nil {
		r.f.log.Warn("fleet: output not readable in the backend's output directory; downloading it",
			"backend", r.b.ID(), "job", r.jobID, "file", rel, "err", err)
		return nil, false
	}
	return f, true
}

// openOutputDir opens the backend's output directory once per run.
func (r *run) openOutputDir() bool {
	if r.outDir != nil {
		return true
	}
	dir := r.b.cfg.OutputDir
	if dir == "" {
		return false
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		r.f.log.Warn("fleet: cannot open the backend's output directory", "backend", r.b.ID(), "dir", dir, "err", err)
		return false
	}
	r.outDir = root
	return true
}

// removeFolder deletes the run's output folder from the backend's output
// directory once the job's outputs are stored, unless another run on the
// backend saves into the same folder (an equal graph, which ComfyUI may
// answer from this run's files). The last of them removes it. A failure
// costs disk space, not correctness: it is logged. A run re-attached
// after a restart under another InstanceID reads its files from the
// previous process's folder, which stays.
func (r *run) removeFolder() {
	if r.folder == "" || r.b.folderInUse(r) || !r.openOutputDir() {
		return
	}
	err := r.outDir.RemoveAll(r.folder)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.f.log.Warn("fleet: removing an output folder from the backend's output directory failed",
			"backend", r.b.ID(), "job", r.jobID, "folder", r.folder, "err", err)
	}
}

// closeOutputDir releases the output directory, if the run opened it.
func (r *run) closeOutputDir() {
	if r.outDir != nil {
		_ = r.outDir.Close()
		r.outDir = nil
	}
}
