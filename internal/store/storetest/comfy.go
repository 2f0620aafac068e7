package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// comfyTests cover what the ComfyUI-compatible surface stores: the two
// job columns and the file names (job.ComfyFileStore).
var comfyTests = map[string]func(*testing.T, NewStore){
	"JobColumns":      comfyJobColumns,
	"JobColumnsValid": comfyJobColumnsValid,
	"CreateGet":       comfyFileCreateGet,
	"Put":             comfyFilePut,
	"Find":            comfyFileFind,
	"List":            comfyFileList,
	"Counter":         comfyFileCounter,
	"WithUpdate":      comfyNamesWithUpdate,
	"WithUpdateValid": comfyNamesWithUpdateValid,
}

func comfyFiles(t *testing.T, ns NewStore) job.ComfyFileStore {
	t.Helper()
	fs, ok := ns(t).(job.ComfyFileStore)
	if !ok {
		t.Fatal("the store does not implement job.ComfyFileStore")
	}
	return fs
}

func comfyJobColumns(t *testing.T, ns NewStore) {
	s := ns(t)
	meta := json.RawMessage(`{"prompt_id":"fixture-15","number":"7.5"}`)
	j := create(t, s, newJob(func(j *job.Job) { j.Source, j.Comfy = job.SourceComfy, meta }))
	if string(j.Comfy) != string(meta) || j.ComfyHistory != nil {
		t.Errorf("created: comfy %s, history %s", j.Comfy, j.ComfyHistory)
	}
	hist := json.RawMessage(`{"outputs": {}, "status": {"status_str": "success", "completed": true, "messages": []}}`)
	if _, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error { j.ComfyHistory = hist; return nil }); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, j.ID)
	if string(got.ComfyHistory) != string(hist) || string(got.Comfy) != string(meta) {
		t.Errorf("after update: comfy %s, history %s; want both byte for byte", got.Comfy, got.ComfyHistory)
	}
}

func comfyJobColumnsValid(t *testing.T, ns NewStore) {
	s := ns(t)
	_, _, err := s.CreateJob(t.Context(), newJob(func(j *job.Job) { j.Comfy = json.RawMessage(`{`) }))
	wantErr(t, "CreateJob(comfy not JSON)", err, job.ErrInvalid)
	j := create(t, s, newJob())
	_, err = s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error { j.ComfyHistory = json.RawMessage(`nope`); return nil })
	wantErr(t, "UpdateJob(comfy_history not JSON)", err, job.ErrInvalid)
}

func comfyFile(owner, typ, sub, name string) *job.ComfyFile {
	return &job.ComfyFile{Owner: owner, Type: typ, Subfolder: sub, Filename: name,
		ArtifactID: "aa", CreatedAt: at(1).Add(1500 * time.Nanosecond)}
}

func storedComfyFile(f *job.ComfyFile) *job.ComfyFile {
	c := *f
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	return &c
}

func comfyFileCreateGet(t *testing.T, ns NewStore) {
	fs := comfyFiles(t, ns)
	f := comfyFile("alice", "input", "sub", "photo.png")
	if err := fs.CreateComfyFile(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	got, err := fs.GetComfyFile(t.Context(), "alice", "input", "sub", "photo.png")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetComfyFile", storedComfyFile(f), got)
	err = fs.CreateComfyFile(t.Context(), comfyFile("alice", "input", "sub", "photo.png"))
	wantErr(t, "CreateComfyFile(taken name)", err, job.ErrConflict)
	if err := fs.CreateComfyFile(t.Context(), comfyFile("bob", "input", "sub", "photo.png")); err != nil {
		t.Errorf("another owner's namespace: %v", err)
	}
	_, err = fs.GetComfyFile(t.Context(), "alice", "output", "sub", "photo.png")
	wantErr(t, "GetComfyFile(other type)", err, job.ErrNotFound)
	err = fs.CreateComfyFile(t.Context(), &job.ComfyFile{Type: "input"})
	wantErr(t, "CreateComfyFile(no filename)", err, job.ErrInvalid)
	noTime := &job.ComfyFile{Type: "temp", Filename: "x.png"}
	if err := fs.CreateComfyFile(t.Context(), noTime); err != nil {
		t.Fatal(err)
	}
	if got, err := fs.GetComfyFile(t.Context(), "", "temp", "", "x.png"); err != nil || got.CreatedAt.IsZero() {
		t.Errorf("CreatedAt not defaulted: %+v, %v", got, err)
	}
}

func comfyFilePut(t *testing.T, ns NewStore) {
	fs := comfyFiles(t, ns)
	first := comfyFile("", "input", "", "photo.png")
	if err := fs.PutComfyFile(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	second := comfyFile("", "input", "", "photo.png")
	second.ArtifactID = "bb"
	if err := fs.PutComfyFile(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	got, err := fs.GetComfyFile(t.Context(), "", "input", "", "photo.png")
	if err != nil || got.ArtifactID != "bb" {
		t.Errorf("after overwrite: %+v, %v; want artifact bb", got, err)
	}
}

func comfyFileFind(t *testing.T, ns NewStore) {
	fs := comfyFiles(t, ns)
	out := func(name, job string) *job.ComfyFile {
		f := comfyFile("o", "output", "", name)
		f.ArtifactID, f.JobID, f.Backend = "", job, "gpu-1"
		f.OriginType, f.OriginFilename = "output", "ComfyUI_00001_.png"
		return f
	}
	older, newer := out("ComfyUI_00001_.png", "j1"), out("ComfyUI_00002_.png", "j2")
	for _, f := range []*job.ComfyFile{older, newer} {
		if err := fs.CreateComfyFile(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := fs.FindComfyFile(t.Context(), "o", "gpu-1", "output", "", "ComfyUI_00001_.png")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "FindComfyFile returns the newest", storedComfyFile(newer), got)
	_, err = fs.FindComfyFile(t.Context(), "o", "gpu-2", "output", "", "ComfyUI_00001_.png")
	wantErr(t, "FindComfyFile(other backend)", err, job.ErrNotFound)
}

func comfyFileList(t *testing.T, ns NewStore) {
	fs := comfyFiles(t, ns)
	a, b := comfyFile("o", "input", "", "b.png"), comfyFile("o", "input", "", "a.png")
	sub := comfyFile("o", "input", "sub", "c.png")
	other := comfyFile("p", "input", "", "d.png")
	out := comfyFile("o", "output", "", "e.png")
	out.JobID = "j1"
	for _, f := range []*job.ComfyFile{a, b, sub, other, out} {
		if err := fs.CreateComfyFile(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	list, err := fs.ListComfyFiles(t.Context(), job.ComfyFileFilter{Owner: "o", Type: "input"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "the top of o's input directory, oldest first", []*job.ComfyFile{storedComfyFile(a), storedComfyFile(b)}, list)
	list, err = fs.ListComfyFiles(t.Context(), job.ComfyFileFilter{Owner: "o", JobID: "j1"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "files of job j1", []*job.ComfyFile{storedComfyFile(out)}, list)
	list, err = fs.ListComfyFiles(t.Context(), job.ComfyFileFilter{Owner: "o", Type: "input", Limit: 1})
	if err != nil || len(list) != 1 {
		t.Errorf("Limit 1: %d files, %v", len(list), err)
	}
}

func comfyFileCounter(t *testing.T, ns NewStore) {
	fs := comfyFiles(t, ns)
	if n, err := fs.LastComfyCounter(t.Context(), "o", "output", "fixture", "basic"); err != nil || n != 0 {
		t.Errorf("empty directory: %d, %v; want 0", n, err)
	}
	for _, c := range []int{3, 11, 7} {
		f := comfyFile("o", "output", "fixture", name("basic", c))
		f.Prefix, f.Counter = "basic", c
		if err := fs.CreateComfyFile(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	other := comfyFile("o", "output", "", "basic_00099_.png")
	other.Prefix, other.Counter = "basic", 99
	if err := fs.CreateComfyFile(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if n, err := fs.LastComfyCounter(t.Context(), "o", "output", "fixture", "basic"); err != nil || n != 11 {
		t.Errorf("LastComfyCounter = %d, %v; want 11 (the other subfolder does not count)", n, err)
	}
}
