package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	gw "github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// workflowShelf is a fake workflow store behind the real REST handler.
type workflowShelf struct {
	mu       sync.Mutex // guards the fields below
	byKey    map[string]api.Workflow
	puts     [][]byte // bodies PutWorkflow received
	warnings []string // what PutWorkflow answers with
}

func newWorkflowShelf(wfs ...api.Workflow) *workflowShelf {
	s := &workflowShelf{byKey: map[string]api.Workflow{}}
	for _, wf := range wfs {
		s.byKey[wf.Name] = wf
	}
	return s
}

func (s *workflowShelf) service() *httpapitest.Service {
	return &httpapitest.Service{
		ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			var out []api.Workflow
			for _, name := range []string{"img2img", "txt2img"} {
				if wf, ok := s.byKey[name]; ok {
					out = append(out, wf)
				}
			}
			return out, nil
		},
		GetWorkflowFunc: func(_ context.Context, _, name string) (api.Workflow, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			wf, ok := s.byKey[name]
			if !ok {
				return wf, fmt.Errorf("workflow %s: %w", name, gw.ErrNotFound)
			}
			return wf, nil
		},
		PutWorkflowFunc: func(_ context.Context, _, name string, body []byte) (api.Workflow, bool, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.puts = append(s.puts, body)
			_, existed := s.byKey[name]
			wf := api.Workflow{Name: name, Version: "0123456789abcdef0123", Graph: body, Params: sampleParams()[:2], CreatedAt: cliEpoch, UpdatedAt: cliEpoch}
			s.byKey[name] = wf
			wf.Warnings = s.warnings
			return wf, !existed, nil
		},
		DeleteWorkflowFunc: func(_ context.Context, _, name string) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := s.byKey[name]; !ok {
				return fmt.Errorf("workflow %s: %w", name, gw.ErrNotFound)
			}
			delete(s.byKey, name)
			return nil
		},
	}
}

func sampleParams() []api.Param {
	return []api.Param{
		{Name: "prompt", Target: "6.inputs.text", Type: "string", Default: "a photo of a cat", Description: "Positive prompt"},
		{Name: "seed", Target: "3.inputs.seed", Type: "integer", Default: json.Number("0"), Minimum: json.Number("0"), Maximum: json.Number("4294967295")},
		{Name: "sampler", Target: "3.inputs.sampler_name", Type: "string", Default: "euler", Enum: []any{"euler", "euler_ancestral", "dpmpp_2m"}},
		{Name: "image", Target: "10.inputs.image", Type: "image", Description: "Input image:\nan upload id"},
	}
}

func sampleWorkflows() []api.Workflow {
	later := cliEpoch.Add(90 * 60e9)
	return []api.Workflow{
		{Name: "txt2img", Version: "9f86d081884c7d659a2feaa0c55ad015", Description: "Text to image, SD 1.5", Params: sampleParams()[:3], CreatedAt: cliEpoch, UpdatedAt: later},
		{Name: "img2img", Version: "60303ae22b998861bce3b28f33eec1be", Params: sampleParams(), CreatedAt: cliEpoch, UpdatedAt: cliEpoch},
	}
}

func TestWorkflowsGolden(t *testing.T) {
	url := startFakeAPI(t, newWorkflowShelf(sampleWorkflows()...).service())
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"list", []string{"workflows", "list"}, "workflows_list.txt"},
		{"the default verb is list", []string{"workflows"}, "workflows_list.txt"},
		{"list json", []string{"workflows", "list", "--json"}, "workflows_list.json"},
		{"get", []string{"workflows", "get", "img2img"}, "workflows_get.txt"},
		{"flags after the argument", []string{"workflows", "get", "img2img", "--json"}, "workflows_get.json"},
		{"flags before the verb", []string{"workflows", "--json", "get", "img2img"}, "workflows_get.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustCLI(t, append(tc.args, "--server", url)...)
			checkGolden(t, tc.golden, r.stdout)
		})
	}
}

func TestWorkflowsPutDelete(t *testing.T) {
	shelf := newWorkflowShelf()
	url := startFakeAPI(t, shelf.service())
	graph := `{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551615}}}`
	file := filepath.Join(t.TempDir(), "graph.json")
	if err := os.WriteFile(file, []byte(graph), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		args []string
		want string
	}{
		{"create", []string{"workflows", "put", "fox", file}, "created workflow fox (version 0123456789ab, 2 parameters)\n"},
		{"replace", []string{"workflows", "put", "fox", file}, "replaced workflow fox (version 0123456789ab, 2 parameters)\n"},
		{"delete", []string{"workflows", "delete", "fox"}, "deleted workflow fox\n"},
		{"put another", []string{"workflows", "put", "owl", file}, ""},
		{"delete json", []string{"workflows", "delete", "owl", "--json"}, "{\n  \"deleted\": \"owl\"\n}\n"},
	}
	for _, st := range steps {
		r := mustCLI(t, append(st.args, "--server", url)...)
		if st.want != "" && r.stdout != st.want {
			t.Errorf("%s: stdout %q, want %q", st.name, r.stdout, st.want)
		}
	}
	shelf.mu.Lock()
	defer shelf.mu.Unlock()
	if len(shelf.puts) != 3 || string(shelf.puts[0]) != graph {
		t.Fatalf("server got bodies %q, want the file's bytes unchanged three times", shelf.puts)
	}
	if len(shelf.byKey) != 0 {
		t.Fatalf("workflows left: %v", shelf.byKey)
	}
}

func TestWorkflowsPutPrintsWarnings(t *testing.T) {
	shelf := newWorkflowShelf()
	shelf.warnings = []string{
		"no backend has reported its node catalog yet: the graph was not checked",
		"node 4 (CheckpointLoaderSimple): ckpt_name \"sdxl.safetensors\" is on no backend\nset another",
	}
	url := startFakeAPI(t, shelf.service())
	file := filepath.Join(t.TempDir(), "graph.json")
	if err := os.WriteFile(file, []byte(`{"3":{"class_type":"KSampler","inputs":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantStderr := "warning: no backend has reported its node catalog yet: the graph was not checked\n" +
		"warning: node 4 (CheckpointLoaderSimple): ckpt_name \"sdxl.safetensors\" is on no backend set another\n"
	for _, tc := range []struct {
		name       string
		args       []string
		wantStdout string // a part of it
	}{
		{"text", []string{"workflows", "put", "fox", file}, "created workflow fox"},
		{"json keeps them in the answer too", []string{"workflows", "put", "fox", file, "--json"}, `"warnings": [`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustCLI(t, append(tc.args, "--server", url)...)
			if r.stderr != wantStderr {
				t.Errorf("stderr %q, want %q", r.stderr, wantStderr)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) || strings.Contains(r.stdout, "warning:") {
				t.Errorf("stdout %q, want %q and no warning lines", r.stdout, tc.wantStdout)
			}
		})
	}
}

func TestWorkflowsErrors(t *testing.T) {
	url := startFakeAPI(t, newWorkflowShelf().service())
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte("{nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		usage   bool   // errUsage: nothing was sent
		message string // part of the error
	}{
		{"unknown workflow", []string{"workflows", "get", "nope"}, false, "404 not_found"},
		{"delete unknown", []string{"workflows", "delete", "nope"}, false, "404 not_found"},
		{"missing name", []string{"workflows", "get"}, true, "want 1 argument(s) NAME, got 0"},
		{"too many", []string{"workflows", "put", "a", "b", "c"}, true, "want 2 argument(s)"},
		{"unknown verb", []string{"workflows", "frobnicate"}, true, `unknown verb "frobnicate"`},
		{"missing file", []string{"workflows", "put", "a", filepath.Join(dir, "none.json")}, false, "no such file"},
		{"not JSON", []string{"workflows", "put", "a", notJSON}, false, "not valid JSON"},
		{"bad server", []string{"workflows", "list", "--server", "ftp://x"}, false, "--server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append(tc.args, "--server", url)...)
			if tc.name == "bad server" {
				r = runCLI(t, tc.args...)
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tc.message) {
				t.Fatalf("err = %v, want one saying %q", r.err, tc.message)
			}
			if got := errors.Is(r.err, errUsage); got != tc.usage {
				t.Errorf("errors.Is(err, errUsage) = %v, want %v", got, tc.usage)
			}
			if code := exitCode(r.err, &strings.Builder{}); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\nb\tc", "a b c"},
		{"ééééé", "ééééé"},
		{"éééééé", "éééé…"},
	} {
		if got := oneLine(tc.in, 5); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if diff := cmp.Diff("0..4294967295", allowed(sampleParams()[1])); diff != "" {
		t.Errorf("allowed: %s", diff)
	}
}

// TestWorkflowsBigNumbers: a KSampler seed goes up to 2^64-1, and the
// table must show that bound exactly.
func TestWorkflowsBigNumbers(t *testing.T) {
	wf := sampleWorkflows()[1]
	wf.Params = []api.Param{{Name: "seed", Type: "integer", Target: "3.inputs.seed", Minimum: json.Number("0"), Maximum: json.Number("18446744073709551615")}}
	url := startFakeAPI(t, newWorkflowShelf(wf).service())
	r := mustCLI(t, "workflows", "get", wf.Name, "--server", url)
	if !strings.Contains(r.stdout, "0..18446744073709551615") {
		t.Errorf("bounds not exact; got:\n%s", r.stdout)
	}
}
