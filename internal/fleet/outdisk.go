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
// HTTP, and removing each job's folder once its files are stored keeps the
// backend's disk from filling with copies. Only files in the job's own
// folder are touched: its name holds the job id, so nothing of another job
// or of the backend's own can be read or removed by mistake, even when
// the configured directory is the wrong one.

// diskFile returns where, relative to the output directory, the backend
// saved ref for job id, if it is a file of the job's own folder. Names come
// from the backend and are checked here: after cleaning, the path must
// still be inside the job's folder.
func diskFile(id string, ref comfy.FileRef) (string, bool) {
	if ref.Type != "" && ref.Type != comfy.FileTypeOutput {
		return "", false
	}
	name := ref.Filename
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return "", false
	}
	folder := job.OutputFolder(id)
	rel := path.Clean(strings.ReplaceAll(ref.Subfolder, `\`, "/") + "/" + name)
	if !strings.HasPrefix(rel, folder+"/") {
		return "", false
	}
	return rel, true
}

// openOnDisk opens ref in the backend's output directory. ok is false when
// the backend has none configured, ref is not a file of the job's folder,
// or the file cannot be opened there: the caller downloads it instead.
func (r *run) openOnDisk(ref comfy.FileRef) (*os.File, bool) {
	rel, ok := diskFile(r.jobID, ref)
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

// removeJobFolder deletes the job's folder from the backend's output
// directory once the job's outputs are stored. A failure costs disk space,
// not correctness: it is logged.
func (r *run) removeJobFolder() {
	if !r.openOutputDir() {
		return
	}
	err := r.outDir.RemoveAll(job.OutputFolder(r.jobID))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.f.log.Warn("fleet: removing the job's folder from the backend's output directory failed",
			"backend", r.b.ID(), "job", r.jobID, "err", err)
	}
}

// closeOutputDir releases the output directory, if the run opened it.
func (r *run) closeOutputDir() {
	if r.outDir != nil {
		_ = r.outDir.Close()
		r.outDir = nil
	}
}
