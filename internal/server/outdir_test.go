package server

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// outputFiles lists the files under dir.
func outputFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestBackendOutputDirEndToEnd: a backend added with its output directory
// has its outputs read from disk and removed once stored; a directory
// that is not there is refused, naming the field.
func TestBackendOutputDirEndToEnd(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	s := startServer(t, Config{})
	c := client(t)
	a := adminClient{tb: t, c: c, base: s.URL()}
	out := filepath.Join(sim.DataDir(), "output")

	var e api.ErrorResponse
	a.must(http.StatusBadRequest, "POST", "/v1/backends", fmt.Sprintf(`{"url":%q,"output_dir":%q}`, sim.URL(), filepath.Join(out, "none")), &e)
	if e.Error.Field != "output_dir" {
		t.Fatalf("missing directory: %+v, want field output_dir", e.Error)
	}
	a.must(http.StatusCreated, "POST", "/v1/backends", fmt.Sprintf(`{"id":"local","url":%q,"output_dir":%q}`, sim.URL(), out), nil)
	a.waitState("local", "healthy")
	for color := range 3 {
		var j api.Job
		a.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", fmt.Sprintf(`{"prompt": {
		  "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": %d}},
		  "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "local"}}}}`, color), &j)
		if j.State != api.StateSucceeded || len(j.Outputs) != 1 {
			t.Fatalf("job %s: %s, outputs %+v", j.ID, j.State, j.Outputs)
		}
	}
	if !poll(func() bool { return len(outputFiles(t, out)) == 0 }) {
		t.Errorf("the backend kept %v", outputFiles(t, out))
	}
}

// TestSimulatorOutputsAreNotKept: the in-process simulators share this
// host, so their outputs are read from disk and removed.
func TestSimulatorOutputsAreNotKept(t *testing.T) {
	cfg := Config{SimBackends: 1, Examples: true, DataDir: t.TempDir()}
	s := startServer(t, cfg)
	c := client(t)
	waitReady(t, c, s)
	a := adminClient{tb: t, c: c, base: s.URL()}
	a.runJobs(2, 0)
	out := filepath.Join(cfg.path(simDir), strconv.Itoa(1), "output")
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if !poll(func() bool { return len(outputFiles(t, out)) == 0 }) {
		t.Errorf("the simulator kept %v", outputFiles(t, out))
	}
}
