package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	gw "github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

const studioJobID = "5e0c6b1e-2f7a-4d3c-9a10-7f1b2c3d4e5f"

// studio is a fake gateway for run: it records what it is sent and plays
// the event stream the test gives it.
type studio struct {
	stream *httpapitest.Stream
	files  map[string]studioFile

	mu      sync.Mutex // guards the fields below
	submits []api.SubmitJobRequest
	uploads []recordedUpload
	cancels []string
}

type recordedUpload struct{ Filename, ContentType, Body string }

type studioFile struct {
	data        []byte
	contentType string
}

func newStudio(stream *httpapitest.Stream) *studio {
	return &studio{stream: stream, files: map[string]studioFile{}}
}

func (s *studio) job(state api.JobState) api.Job {
	return api.Job{ID: studioJobID, State: state, Workflow: "txt2img", CreatedAt: cliEpoch}
}

// studioSchema is the parameter schema of the studio's one workflow, as
// the server writes it, plus a property without a type.
const studioSchema = `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false,
	"properties": {
		"prompt": {"type": "string"}, "note": {"type": "string"}, "empty": {"type": "string"}, "sampler": {"type": "string", "enum": ["euler"]},
		"image": {"type": "string", "format": "image"}, "seed": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615},
		"steps": {"type": "integer"}, "mask": {"type": ["integer", "null"]}, "cfg": {"type": "number"}, "tiled": {"type": "boolean"},
		"size": {"description": "no type: read as JSON when it is JSON"}}}`

var studioWorkflow = func() api.Workflow {
	wf := api.Workflow{Name: "txt2img", Version: "v1", Graph: json.RawMessage(`{}`), CreatedAt: cliEpoch, UpdatedAt: cliEpoch}
	if err := json.Unmarshal([]byte(studioSchema), &wf.Schema); err != nil {
		panic(err) // a typo in the constant above
	}
	return wf
}()

func (s *studio) service() *httpapitest.Service {
	return &httpapitest.Service{
		GetWorkflowFunc: func(_ context.Context, _, name string) (api.Workflow, error) {
			if name != "txt2img" {
				return api.Workflow{}, fmt.Errorf("workflow %s: %w", name, gw.ErrNotFound)
			}
			return studioWorkflow, nil
		},
		UploadFunc: func(_ context.Context, _ string, r io.Reader, name, ct string) (api.Upload, error) {
			data, err := io.ReadAll(r)
			s.mu.Lock()
			s.uploads = append(s.uploads, recordedUpload{name, ct, string(data)})
			s.mu.Unlock()
			return api.Upload{ID: "sha-of-" + name, Filename: name, Size: int64(len(data))}, err
		},
		SubmitJobFunc: func(_ context.Context, _ string, req api.SubmitJobRequest, _ string) (api.Job, bool, error) {
			s.mu.Lock()
			s.submits = append(s.submits, req)
			s.mu.Unlock()
			return s.job(api.StateQueued), false, nil
		},
		GetJobFunc: func(context.Context, string, string) (api.Job, error) { return s.job(api.StateQueued), nil },
		SubscribeJobFunc: func(context.Context, string, string, string) (httpapi.Stream, error) {
			return s.stream, nil
		},
		CancelJobFunc: func(_ context.Context, _, id string) (api.Job, error) {
			s.mu.Lock()
			s.cancels = append(s.cancels, id)
			s.mu.Unlock()
			return s.job(api.StateCancelled), nil
		},
		OpenArtifactFunc: func(_ context.Context, _, id string) (httpapi.Artifact, error) {
			f := s.files[id]
			return httpapitest.NewArtifact(f.data, id, f.contentType, `"`+id+`"`, cliEpoch), nil
		},
	}
}

// sent returns what the fake received so far.
func (s *studio) sent() (submits []api.SubmitJobRequest, uploads []recordedUpload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.submits), slices.Clone(s.uploads)
}

// artifact stores a file the job's outputs point at.
func (s *studio) artifact(id, contentType string, data []byte) {
	s.files[id] = studioFile{data: data, contentType: contentType}
}

// event builds one event at ms milliseconds after cliEpoch.
func event(id, typ string, ms int, data any) api.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return api.Event{ID: id, JobID: studioJobID, Type: typ, Time: cliEpoch.Add(time.Duration(ms) * time.Millisecond), Data: raw}
}

func pngOf(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// successScript is a whole job: queue, dispatch, nodes with steps, a
// preview, three outputs (one with a hostile name, one text) and success.
func successScript(tb testing.TB, s *studio) []api.Event {
	s.artifact("art-1", "image/png", pngOf(tb, 64, 48))
	s.artifact("art-2", "image/png", []byte("not really a png"))
	outs := []api.Output{
		{NodeID: "9", Kind: "images", Filename: "ComfyUI_00001_.png", ArtifactID: "art-1", ContentType: "image/png"},
		{NodeID: "9", Kind: "images", Filename: "../../etc/passwd", ArtifactID: "art-2", ContentType: "image/png"},
		{NodeID: "12", Kind: "text", Text: "a red fox, oil on canvas"},
	}
	done := s.job(api.StateSucceeded)
	done.Outputs = outs
	step := func(v, f float64) api.Progress {
		return api.Progress{Node: "3", NodeType: "KSampler", Value: v, Max: 4, Fraction: f, NodesDone: 2, NodesTotal: 5}
	}
	return []api.Event{
		event("1", api.EventQueued, 0, api.EventQueuedData{Position: 2}),
		event("1.1", api.EventPosition, 500, api.EventQueuedData{Position: 1}),
		event("1.2", api.EventPosition, 700, api.EventQueuedData{Position: 1}),
		event("1.3", api.EventPosition, 1000, api.EventQueuedData{Position: 0}),
		event("2", api.EventDispatched, 1200, api.EventDispatchedData{Backend: "gpu0", Attempt: 1}),
		event("3", api.EventStarted, 1300, api.EventDispatchedData{Backend: "gpu0", Attempt: 1}),
		event("3.1", api.EventNode, 1300, api.EventNodeData{Node: "4", NodeType: "CheckpointLoaderSimple", Cached: true}),
		event("3.2", api.EventNode, 1400, api.EventNodeData{Node: "3", NodeType: "KSampler"}),
		event("3.3", api.EventProgress, 1500, step(1, 0.45)),
		event("3.4", api.EventPreview, 1510, api.EventPreviewData{Node: "3", ImageType: "image/jpeg", Image: []byte{0xff, 0xd8}}),
		event("3.5", api.EventProgress, 1600, step(2, 0.5)),
		event("3.6", api.EventProgress, 1650, step(2, 0.5)),
		event("3.7", api.EventProgress, 1800, step(4, 0.6)),
		event("3.8", api.EventNode, 1900, api.EventNodeData{Node: "8", NodeType: "VAEDecode"}),
		event("4", api.EventOutput, 2000, outs[0]),
		event("5", api.EventOutput, 2000, outs[1]),
		event("6", api.EventOutput, 2000, outs[2]),
		event("7", api.EventSucceeded, 2100, done),
	}
}

func TestRunSavesOutputs(t *testing.T) {
	s := newStudio(nil)
	s.stream = httpapitest.StreamOf(successScript(t, s)...)
	url := startFakeAPI(t, s.service())
	out := filepath.Join(t.TempDir(), "renders")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "ComfyUI_00001_.png"), []byte("an older render"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := mustCLI(t, "run", "txt2img", "-p", "prompt=a red fox", "--out", out, "--server", url)

	checkGolden(t, "run_progress.txt", normalise(r.stderr))
	checkGolden(t, "run_stdout.txt", strings.ReplaceAll(r.stdout, out, "<OUT>"))
	got := map[string]string{}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(out, e.Name()))
		got[e.Name()] = string(data)
	}
	want := map[string]string{
		"ComfyUI_00001_.png":   "an older render", // never overwritten
		"ComfyUI_00001_-1.png": string(pngOf(t, 64, 48)),
		"passwd":               "not really a png", // base name only, inside --out
		"output-12-2.txt":      "a red fox, oil on canvas",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files in --out (-want +got):\n%s", diff)
	}
	cfg, err := png.DecodeConfig(strings.NewReader(got["ComfyUI_00001_-1.png"]))
	if err != nil || cfg.Width != 64 || cfg.Height != 48 {
		t.Errorf("saved PNG: %dx%d, %v; want 64x48", cfg.Width, cfg.Height, err)
	}
}

func TestRunJSON(t *testing.T) {
	s := newStudio(nil)
	s.stream = httpapitest.StreamOf(successScript(t, s)...)
	url := startFakeAPI(t, s.service())
	out := t.TempDir()
	r := mustCLI(t, "run", "txt2img", "--json", "--out", out, "--server", url)
	var res runResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, r.stdout)
	}
	want := []string{filepath.Join(out, "ComfyUI_00001_.png"), filepath.Join(out, "passwd"), filepath.Join(out, "output-12-2.txt")}
	if diff := cmp.Diff(want, res.Files); diff != "" || res.Job.State != api.StateSucceeded || len(res.Job.Outputs) != 3 {
		t.Errorf("result job %s with %d outputs; files (-want +got):\n%s", res.Job.State, len(res.Job.Outputs), diff)
	}
}

func TestRunSendsParams(t *testing.T) {
	s := newStudio(nil)
	s.stream = httpapitest.StreamOf(event("1", api.EventSucceeded, 0, s.job(api.StateSucceeded)))
	url := startFakeAPI(t, s.service())
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(yamlFile, []byte("steps: 10\nsampler: euler\nmask: 0x10\nnote: 1984\nempty: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat := filepath.Join(dir, "cat.png")
	if err := os.WriteFile(cat, []byte("meow"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := mustCLI(t, "run", "--params-file", yamlFile, "txt2img", "--priority", "7", "--out", dir,
		"-p", "seed=18446744073709551615", "-p", "prompt=1984", "-p", "cfg=7.5", "-p", "tiled=false",
		"-p", "steps=20", "-p", "size=[512,768]", "--image", "image="+cat, "--no-progress", "--server", url)

	want := api.SubmitJobRequest{Workflow: "txt2img", Priority: 7, Params: map[string]any{
		"seed": json.Number("18446744073709551615"), "prompt": "1984", "cfg": json.Number("7.5"), "tiled": false,
		"steps": json.Number("20"), "sampler": "euler", "mask": json.Number("16"),
		"size": []any{json.Number("512"), json.Number("768")}, "note": "1984", "empty": "true", "image": "sha-of-cat.png",
	}}
	submits, uploads := s.sent()
	if diff := cmp.Diff([]api.SubmitJobRequest{want}, submits); diff != "" {
		t.Errorf("submitted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]recordedUpload{{"cat.png", "image/png", "meow"}}, uploads); diff != "" {
		t.Errorf("uploads (-want +got):\n%s", diff)
	}
	if r.stderr != "" || r.stdout != "" {
		t.Errorf("--no-progress and no outputs: stdout %q, stderr %q; want both empty", r.stdout, r.stderr)
	}
}

func TestRunFailure(t *testing.T) {
	s := newStudio(nil)
	failed := s.job(api.StateFailed)
	failed.Error = &api.JobError{Type: "execution_error", NodeID: "3", NodeType: "KSampler", Message: "boom"}
	s.stream = httpapitest.StreamOf(
		event("1", api.EventQueued, 0, api.EventQueuedData{}),
		event("2", api.EventStarted, 100, api.EventDispatchedData{Backend: "gpu0", Attempt: 1}),
		event("3", api.EventFailed, 200, failed))
	url := startFakeAPI(t, s.service())
	out := t.TempDir()

	r := runCLI(t, "run", "txt2img", "--out", out, "--server", url)

	var ended *jobEndedError
	if !errors.As(r.err, &ended) {
		t.Fatalf("err = %v, want a jobEndedError", r.err)
	}
	if want := "job " + studioJobID + " failed: execution_error in node 3 (KSampler): boom"; r.err.Error() != want {
		t.Errorf("error %q, want %q", r.err, want)
	}
	var stderr strings.Builder
	if code := exitCode(r.err, &stderr); code != 1 || !strings.Contains(stderr.String(), "boom") {
		t.Errorf("exit code %d, stderr %q; want 1 with the error", code, stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 || r.stdout != "" {
		t.Errorf("a failed job saved %v and printed %q", entries, r.stdout)
	}
}

// TestRunInterrupted: Ctrl-C (ctx cancelled) while the job runs sends a
// cancel for it and ends with errInterrupted, not a silent exit 0.
func TestRunInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   []string
		ctrlC   bool
		wantErr error
	}{
		{"ctrl-c", nil, true, errInterrupted},
		{"timeout", []string{"--timeout", "20ms"}, false, errTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStudio(httpapitest.NewStream(8))
			url := startFakeAPI(t, s.service())
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := s.stream.Send(ctx, event("1", api.EventStarted, 0, api.EventDispatchedData{Backend: "gpu0", Attempt: 1})); err != nil {
				t.Fatal(err)
			}
			stderr := newLineBuffer()
			runCtx, interrupt := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- run(runCtx, append([]string{"run", "txt2img", "--server", url}, tc.extra...), io.Discard, stderr)
			}()
			if tc.ctrlC {
				if _, err := stderr.waitMatch(ctx, regexp.MustCompile(`started on gpu0`)); err != nil {
					t.Fatalf("no progress line: %v\n%s", err, stderr)
				}
				interrupt()
			}
			err := <-done
			interrupt()
			if !errors.Is(err, tc.wantErr) || errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if exitCode(err, io.Discard) == 0 {
				t.Errorf("exit code 0 for an unfinished run")
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if diff := cmp.Diff([]string{studioJobID}, s.cancels); diff != "" {
				t.Errorf("cancel requests (-want +got):\n%s", diff)
			}
			if !strings.Contains(stderr.String(), "job "+studioJobID+" cancelled\n") {
				t.Errorf("stderr does not say the job was cancelled:\n%s", stderr)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no workflow", []string{"run"}, "want one WORKFLOW"},
		{"two workflows", []string{"run", "a", "b"}, "want one WORKFLOW"},
		{"bad param", []string{"run", "a", "-p", "novalue"}, `-p "novalue": want key=value`},
		{"bad image", []string{"run", "a", "--image", "cat.png"}, `--image "cat.png": want name=path`},
		{"missing image", []string{"run", "a", "--image", "i=/does/not/exist.png"}, "--image i: open /does/not/exist.png"},
		{"missing params file", []string{"run", "a", "--params-file", "/does/not/exist.json"}, "--params-file: open"},
		{"unknown workflow", []string{"run", "nope", "-p", "prompt=x"}, "workflow nope: comfygate: 404 not_found"},
		{"unknown param", []string{"run", "txt2img", "-p", "promt=x"}, `-p promt: workflow txt2img has no parameter "promt" (it has: cfg, empty, image, `},
		{"unknown image param", []string{"run", "txt2img", "--image", "photo=PARAMS"}, `--image photo: workflow txt2img has no parameter "photo"`},
		{"unknown file param", []string{"run", "txt2img", "--params-file", "PARAMS"}, `--params-file PARAMS: promt: workflow txt2img has no parameter "promt"`},
		{"not an integer", []string{"run", "txt2img", "-p", "steps=20.5"}, "-p steps=20.5: steps of workflow txt2img takes a whole number"},
		{"not a number", []string{"run", "txt2img", "-p", "cfg=high"}, "-p cfg=high: cfg of workflow txt2img takes a number"},
		{"not a boolean", []string{"run", "txt2img", "-p", "tiled=yes please"}, "-p tiled=yes please: tiled of workflow txt2img takes true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStudio(nil)
			url := startFakeAPI(t, s.service())
			paramsFile := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(paramsFile, []byte("prompt: a fox\npromt: typo\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := slices.Clone(tc.args)
			for i, a := range args { // PARAMS: an existing file
				args[i] = strings.ReplaceAll(a, "PARAMS", paramsFile)
			}
			want := strings.ReplaceAll(tc.want, "PARAMS", paramsFile)
			r := runCLI(t, append(args, "--server", url)...)
			if r.err == nil || !strings.Contains(r.err.Error(), want) {
				t.Fatalf("err = %v, want one saying %q", r.err, want)
			}
			if submits, uploads := s.sent(); len(submits) != 0 || len(uploads) != 0 {
				t.Errorf("a bad command line submitted %v", submits)
			}
		})
	}
}
