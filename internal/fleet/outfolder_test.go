package fleet

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

var testFolder = job.OutputFolder(strings.Repeat("0123456789abcdef", 2))

func TestIntoFolder(t *testing.T) {
	t.Parallel()
	classes := map[string]string{"1": "EmptyImage", "9": "SaveImage", "10": "PreviewImage", "11": "CheckpointSave", "12": "SaveAnimatedWEBP"}
	save := func(prefix string) string {
		return `{"9": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": ` + prefix + `}}, "1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}`
	}
	moved := func(prefix string) string {
		p, _ := json.Marshal(testFolder + "/" + prefix)
		return `{"9": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": ` + string(p) + `}}, "1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}`
	}
	tests := []struct{ name, graph, want string }{
		{"a plain prefix", save(`"ComfyUI"`), moved("ComfyUI")},
		{"a prefix with folders", save(`"portraits/2025/fox"`), moved("portraits/2025/fox")},
		{"ComfyUI's own variables", save(`"%width%x%height%/img"`), moved("%width%x%height%/img")},
		{"a trailing separator", save(`"sub/"`), moved("sub/")},
		{"windows separators", save(`"sub\\fox"`), moved(`sub\fox`)},
		{"a link is left alone", save(`["7", 0]`), save(`["7", 0]`)},
		{"climbing out is ComfyUI's to refuse", save(`"../escape"`), save(`"../escape"`)},
		{"climbing out within", save(`"a/../../escape"`), save(`"a/../../escape"`)},
		{"absolute", save(`"/tmp/x"`), save(`"/tmp/x"`)},
		{"windows absolute", save(`"\\tmp\\x"`), save(`"\\tmp\\x"`)},
		{"drive letter", save(`"C:x"`), save(`"C:x"`)},
		{"empty", save(`""`), save(`""`)},
		{"only dots", save(`"./."`), save(`"./."`)},
		{"not a string", save(`7`), save(`7`)},
		{"nodes that save without reporting are left alone",
			`{"11": {"class_type": "CheckpointSave", "inputs": {"filename_prefix": "checkpoints/x"}}}`,
			`{"11": {"class_type": "CheckpointSave", "inputs": {"filename_prefix": "checkpoints/x"}}}`},
		{"no save node", `{"1": {"class_type": "EmptyImage", "inputs": {}}}`, `{"1": {"class_type": "EmptyImage", "inputs": {}}}`},
		{"not a graph", `[1, 2]`, `[1, 2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := intoFolder(json.RawMessage(tt.graph), classes, testFolder)
			if !jsonEqual(t, got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("node and input order are kept", func(t *testing.T) {
		g := `{"9": {"inputs": {"filename_prefix": "a", "images": ["1", 0]}, "class_type": "SaveImage"}, "12": {"class_type": "SaveAnimatedWEBP", "inputs": {"filename_prefix": "b"}}, "1": {"class_type": "EmptyImage"}}`
		got := string(intoFolder(json.RawMessage(g), classes, testFolder))
		order := []string{`"9"`, `"inputs"`, `"filename_prefix"`, `"images"`, `"class_type"`, `"12"`, `"1"`}
		last := -1
		for _, k := range order {
			i := strings.Index(got[last+1:], k)
			if i < 0 {
				t.Fatalf("%s not after position %d in %s", k, last, got)
			}
			last += 1 + i
		}
		if !strings.Contains(got, `"`+testFolder+`/b"`) {
			t.Errorf("the second save node kept its prefix: %s", got)
		}
	})
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("bad want: %s", want)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestOutputKey(t *testing.T) {
	t.Parallel()
	a, b := []byte(`{"1": {}}`), []byte(`{"2": {}}`)
	k := outputKey("r1", a)
	if !job.IsOutputKey(k) {
		t.Fatalf("key %q has not the shape of one", k)
	}
	if outputKey("r1", a) != k {
		t.Error("an equal graph got another folder: ComfyUI's cache would not answer it")
	}
	if outputKey("r1", b) == k || outputKey("r2", a) == k {
		t.Error("another graph, or another process, shares a folder")
	}
}

func TestDiskFile(t *testing.T) {
	t.Parallel()
	folder := testFolder
	key := strings.TrimPrefix(folder, "comfygate/")
	tests := []struct {
		name string
		ref  comfy.FileRef
		want string // "" when the file must be downloaded
	}{
		{"an output folder", comfy.FileRef{Filename: "a_00001_.png", Subfolder: folder, Type: "output"}, folder + "/a_00001_.png"},
		{"a folder within", comfy.FileRef{Filename: "a.png", Subfolder: folder + "/x/y", Type: "output"}, folder + "/x/y/a.png"},
		{"no type is output", comfy.FileRef{Filename: "a.png", Subfolder: folder}, folder + "/a.png"},
		{"windows separators", comfy.FileRef{Filename: "a.png", Subfolder: `comfygate\` + key + `\x`, Type: "output"}, folder + "/x/a.png"},
		{"temp files are downloaded", comfy.FileRef{Filename: "a.png", Subfolder: folder, Type: "temp"}, ""},
		{"the shared folder", comfy.FileRef{Filename: "a.png", Type: "output"}, ""},
		{"staged inputs' folder", comfy.FileRef{Filename: "a.png", Subfolder: "comfygate", Type: "output"}, ""},
		{"not a key", comfy.FileRef{Filename: "a.png", Subfolder: "comfygate/other", Type: "output"}, ""},
		{"climbing out of the folder", comfy.FileRef{Filename: "a.png", Subfolder: folder + "/../other", Type: "output"}, ""},
		{"climbing out to the root", comfy.FileRef{Filename: "a.png", Subfolder: folder + "/../../..", Type: "output"}, ""},
		{"a name with a separator", comfy.FileRef{Filename: "../../x.png", Subfolder: folder, Type: "output"}, ""},
		{"a dot name", comfy.FileRef{Filename: "..", Subfolder: folder + "/x", Type: "output"}, ""},
		{"the folder as a name", comfy.FileRef{Filename: key, Subfolder: "comfygate", Type: "output"}, ""},
		{"NUL", comfy.FileRef{Filename: "a\x00.png", Subfolder: folder, Type: "output"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := diskFile(tt.ref)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("diskFile = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// startViewCountingSim runs a simulator behind a handler that counts the
// /view requests it answers.
func startViewCountingSim(tb testing.TB) (*sim, *atomic.Int64) {
	tb.Helper()
	srv, err := comfysim.New(comfysim.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var views atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/view") {
			views.Add(1)
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return &sim{Server: srv, url: ts.URL, addr: ts.Listener.Addr().String()}, &views
}

// outputFiles lists the files under the simulator's output directory, as
// paths relative to it.
func outputFiles(tb testing.TB, s *sim) []string {
	tb.Helper()
	root := filepath.Join(s.DataDir(), "output")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestOutputsGoToFoldersOfTheirOwn: the backend writes each graph's files
// in a folder of its own, an identical graph is still answered from
// ComfyUI's cache, and each file is fetched once.
func TestOutputsGoToFoldersOfTheirOwn(t *testing.T) {
	s, views := startViewCountingSim(t)
	e := newEnv(t, backendOf("gpu", s, 2))
	same := imageGraph(simCheckpoint, 1, 2)
	nested := json.RawMessage(strings.Replace(string(same), `"fleet"`, `"portraits/fleet"`, 1))
	var files []string
	for i, c := range []struct {
		graph json.RawMessage
		sub   string // below the folder
	}{{same, ""}, {same, ""}, {nested, "/portraits"}} {
		id := e.submit(t, c.graph)
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Attempts != 1 || len(j.Outputs) != 1 {
			t.Fatalf("job %s: %s after %d attempts, outputs %+v, error %v", id, j.State, j.Attempts, j.Outputs, j.Error)
		}
		o, sub := j.Outputs[0], job.OutputFolder(outputKey("test", c.graph))+c.sub
		if o.Subfolder != sub || o.Filename != "fleet_00001_.png" {
			t.Errorf("job %d: output in %q as %q, want %q as fleet_00001_.png", i, o.Subfolder, o.Filename, sub)
		}
		if _, ok := e.arts.get(o.ArtifactID); !ok {
			t.Errorf("job %d: output not stored", i)
		}
		if i != 1 { // the second is answered from the cache: the first's file
			files = append(files, sub+"/fleet_00001_.png")
		}
	}
	slices.Sort(files)
	if got := outputFiles(t, s); !slices.Equal(got, files) {
		t.Errorf("backend output directory holds %v, want %v", got, files)
	}
	if n := views.Load(); n != 2 {
		t.Errorf("%d /view requests for 2 files, want one each", n)
	}
}

// TestOutputsReadFromDiskAndRemoved: with the backend's output directory
// known, outputs are read from disk, never through /view, and each output
// folder is removed once its job has the files, also when ComfyUI answers
// an equal graph from its cache and when two equal graphs are in flight.
func TestOutputsReadFromDiskAndRemoved(t *testing.T) {
	s, views := startViewCountingSim(t)
	b := backendOf("gpu", s, 2)
	b.OutputDir = filepath.Join(s.DataDir(), "output")
	e := newEnv(t, b)
	same := imageGraph(simCheckpoint, 1, 2)
	nested := json.RawMessage(strings.Replace(string(same), `"fleet"`, `"portraits/fleet"`, 1))
	check := func(id string) {
		t.Helper()
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Attempts != 1 || len(j.Outputs) != 1 {
			t.Fatalf("job %s: %s after %d attempts, outputs %+v, error %v", id, j.State, j.Attempts, j.Outputs, j.Error)
		}
		o := j.Outputs[0]
		data, ok := e.arts.get(o.ArtifactID)
		if !ok || !bytes.HasPrefix(data, pngMagic) || int64(len(data)) != o.Size || o.ContentType != "image/png" {
			t.Errorf("job %s: stored %v, %d bytes of %d, %s", id, ok, len(data), o.Size, o.ContentType)
		}
	}
	for _, g := range []json.RawMessage{same, same, nested} { // the second is cached
		check(e.submit(t, g))
	}
	other := imageGraph(simCheckpoint, 2, 2)
	both := []string{e.submit(t, other), e.submit(t, other)} // in flight together
	for _, id := range both {
		check(id)
	}
	// A folder goes right after its last job's end is published: its files
	// first, then the folder itself.
	folders := func() ([]os.DirEntry, error) { return os.ReadDir(filepath.Join(b.OutputDir, "comfygate")) }
	waitUntil(t, "the output folders to go", func() bool {
		entries, err := folders()
		return len(outputFiles(t, s)) == 0 && err == nil && len(entries) == 0
	})
	if entries, err := folders(); err != nil || len(entries) != 0 {
		t.Errorf("output folders left: %v, %v", entries, err)
	}
	if n := views.Load(); n != 0 {
		t.Errorf("%d /view requests, want none: the files were on disk", n)
	}
}

// TestOutputDirWithoutTheFilesDownloads: an output directory that is not
// the backend's (another host's path, a mistake) costs a download, not a
// job; nothing is removed from the backend.
func TestOutputDirWithoutTheFilesDownloads(t *testing.T) {
	s, views := startViewCountingSim(t)
	b := backendOf("gpu", s, 2)
	b.OutputDir = t.TempDir()
	e := newEnv(t, b)
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
		t.Fatalf("%s, outputs %+v, error %v", j.State, j.Outputs, j.Error)
	}
	if _, ok := e.arts.get(j.Outputs[0].ArtifactID); !ok {
		t.Error("output not stored")
	}
	if n := views.Load(); n != 1 {
		t.Errorf("%d /view requests, want 1", n)
	}
	if files := outputFiles(t, s); len(files) != 1 {
		t.Errorf("the backend holds %v, want its one file left alone", files)
	}
}

func TestOutputDirIsChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dir, mention string }{
		{"relative", "output", "absolute"},
		{"missing", filepath.Join(dir, "none"), "no such file"},
		{"a file", file, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := BackendConfig{ID: "b", URL: "http://127.0.0.1:1", OutputDir: tt.dir}.validate()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("validate = %v, want an error mentioning %q", err, tt.mention)
			}
		})
	}
	if err := (BackendConfig{ID: "b", URL: "http://127.0.0.1:1", OutputDir: dir}).validate(); err != nil {
		t.Errorf("an existing directory: %v", err)
	}
}

// TestDiskOutputsTakeTheDeliveryFormat: a file read from disk is
// re-encoded as the job asks, as a downloaded one is; and a job that wants
// another format is not handed the earlier job's copy of a cached file.
func TestDiskOutputsTakeTheDeliveryFormat(t *testing.T) {
	s, views := startViewCountingSim(t)
	b := backendOf("gpu", s, 1)
	b.OutputDir = filepath.Join(s.DataDir(), "output")
	e := newEnv(t, b)
	g := imageGraph(simCheckpoint, 3, 2)
	for i, format := range []string{"", job.FormatJPEG} { // the second is answered from the cache
		id := e.submit(t, g, func(j *job.Job) { j.OutputOptions = job.OutputOptions{Format: format} })
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
			t.Fatalf("job %d: %s, outputs %+v, error %v", i, j.State, j.Outputs, j.Error)
		}
		o := j.Outputs[0]
		data, _ := e.arts.get(o.ArtifactID)
		isJPEG := bytes.HasPrefix(data, []byte{0xff, 0xd8})
		if wantJPEG := format == job.FormatJPEG; isJPEG != wantJPEG || (o.ContentType == "image/jpeg") != wantJPEG {
			t.Errorf("job %d (format %q): stored %s, JPEG bytes %v", i, format, o.ContentType, isJPEG)
		}
	}
	if n := views.Load(); n != 0 {
		t.Errorf("%d /view requests, want none", n)
	}
}
