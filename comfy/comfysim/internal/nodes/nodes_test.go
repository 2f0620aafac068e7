package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// fakeEnv is a hand-written Env for calling nodes directly.
type fakeEnv struct {
	dir      string
	progress [][2]int
	texts    []string
}

func (f *fakeEnv) Context() context.Context { return context.Background() }
func (f *fakeEnv) StepWait() error          { return nil }
func (f *fakeEnv) Limits() tensor.Limits    { return tensor.Limits{} }
func (f *fakeEnv) Dir(kind string) string   { return filepath.Join(f.dir, kind) }
func (f *fakeEnv) Progress(v, m int, _ *Preview) error {
	f.progress = append(f.progress, [2]int{v, m})
	return nil
}
func (f *fakeEnv) PreviewMethod() string    { return "none" }
func (f *fakeEnv) PreviewSize() int         { return 512 }
func (f *fakeEnv) Models(string) []string   { return []string{"m.safetensors"} }
func (f *fakeEnv) ProgressText(text string) { f.texts = append(f.texts, text) }

func call(t *testing.T, env *fakeEnv, class string, inputs map[string]any) (Result, error) {
	t.Helper()
	def, ok := Lookup(class)
	if !ok {
		t.Fatalf("no class %s", class)
	}
	c := &Call{Env: env, NodeID: "1", Class: class, Inputs: inputs, Rand: rand.New(rand.NewPCG(1, 2))}
	return def.New(c).Run(c)
}

func TestPythonPaths(t *testing.T) {
	tests := []struct{ in, dir, base string }{
		{"fixture/basic", "fixture", "basic"},
		{"basic", "", "basic"},
		{".", "", "."},
		{"/abs/x", "/abs", "x"},
		{"/x", "/", "x"},
		{"a/b/", "a/b", ""},
	}
	for _, tt := range tests {
		if d, b := PyDirname(tt.in), PyBasename(tt.in); d != tt.dir || b != tt.base {
			t.Errorf("%q: dirname %q basename %q, want %q %q", tt.in, d, b, tt.dir, tt.base)
		}
	}
	if got := PyJoin("/out", "/etc"); got != "/etc" {
		t.Errorf("PyJoin with absolute part = %q", got)
	}
	if !Within("/a/b", "/a/b/c/../d") || Within("/a/b", "/a/bc") || Within("/a/b", "/a/b/../c") {
		t.Error("Within")
	}
}

func TestSaveImageCounterAndSubfolder(t *testing.T) {
	env := &fakeEnv{dir: t.TempDir()}
	out := filepath.Join(env.dir, "output", "sub")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pic_00007_.png", "pic_00002_.png", "pic_x_.png", "picture_00099_.png", "pic_00010_extra.png"} {
		if err := os.WriteFile(filepath.Join(out, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, _ := tensor.Solid(tensor.Limits{}, 2, 4, 4, 0)
	res, err := call(t, env, "SaveImage", map[string]any{"images": img, "filename_prefix": "sub/pic"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(comfyjson.MustDumps(res.UI))
	want := `{"images": [{"filename": "pic_00011_.png", "subfolder": "sub", "type": "output"}, {"filename": "pic_00012_.png", "subfolder": "sub", "type": "output"}]}`
	if got != want {
		t.Errorf("ui:\n got %s\nwant %s", got, want)
	}
	// Folders that do not exist yet are made, however deep, and the
	// prefix is normalised first (folder_paths.get_save_image_path).
	res, err = call(t, env, "SaveImage", map[string]any{"images": img, "filename_prefix": "gw/0a1b/./deep//x/../pic"})
	if err != nil {
		t.Fatal(err)
	}
	got = string(comfyjson.MustDumps(res.UI))
	want = `{"images": [{"filename": "pic_00001_.png", "subfolder": "gw/0a1b/deep", "type": "output"}, {"filename": "pic_00002_.png", "subfolder": "gw/0a1b/deep", "type": "output"}]}`
	if got != want {
		t.Errorf("deep prefix ui:\n got %s\nwant %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(env.dir, "output", "gw", "0a1b", "deep", "pic_00002_.png")); err != nil {
		t.Errorf("deep prefix file: %v", err)
	}
	_, err = call(t, env, "SaveImage", map[string]any{"images": img, "filename_prefix": "../escape"})
	var exc *Exception
	if !errors.As(err, &exc) || exc.Type != "Exception" {
		t.Errorf("prefix outside the output dir: %v", err)
	}
}

func TestPreviewImagePrefix(t *testing.T) {
	env := &fakeEnv{dir: t.TempDir()}
	img, _ := tensor.Solid(tensor.Limits{}, 1, 2, 2, 0)
	res, err := call(t, env, "PreviewImage", map[string]any{"images": img})
	if err != nil {
		t.Fatal(err)
	}
	name := res.UI[0].Value.([]any)[0].(comfyjson.Object)[0].Value.(string)
	if ok, _ := filepath.Match("ComfyUI_temp_[a-z][a-z][a-z][a-z][a-z]_00001_.png", name); !ok {
		t.Errorf("temp name %q", name)
	}
}

func TestStringNodes(t *testing.T) {
	env := &fakeEnv{}
	tests := []struct {
		class  string
		inputs map[string]any
		want   any
	}{
		{"StringConcatenate", map[string]any{"string_a": "hello", "string_b": "world", "delimiter": ", "}, "hello, world"},
		{"CaseConverter", map[string]any{"string": "hello, world", "mode": "UPPERCASE"}, "HELLO, WORLD"},
		{"CaseConverter", map[string]any{"string": "hELLO wORLD", "mode": "Capitalize"}, "Hello world"},
		{"CaseConverter", map[string]any{"string": "it's a dog's-life", "mode": "Title Case"}, "It'S A Dog'S-Life"},
		{"StringSubstring", map[string]any{"string": "héllo", "start": json.Number("1"), "end": json.Number("-1")}, "éll"},
		{"StringLength", map[string]any{"string": "héllo"}, json.Number("5")},
		{"StringTrim", map[string]any{"string": "  x \n", "mode": "Both"}, "x"},
		{"StringReplace", map[string]any{"string": "a-b-c", "find": "-", "replace": "+"}, "a+b+c"},
		{"StringContains", map[string]any{"string": "Hello", "substring": "hell", "case_sensitive": false}, true},
		{"StringCompare", map[string]any{"string_a": "abc", "string_b": "ab", "mode": "Starts With", "case_sensitive": true}, true},
		{"RegexMatch", map[string]any{"string": "abc123", "regex_pattern": `\d+`}, true},
		{"RegexReplace", map[string]any{"string": "a1b22", "regex_pattern": `(\d)`, "replace": `<\1>`, "count": json.Number("1")}, "a<1>b22"},
		{"PrimitiveInt", map[string]any{"value": json.Number("42")}, json.Number("42")},
	}
	for _, tt := range tests {
		res, err := call(t, env, tt.class, tt.inputs)
		if err != nil {
			t.Errorf("%s: %v", tt.class, err)
			continue
		}
		if d := cmp.Diff(tt.want, res.Outputs[0]); d != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.class, tt.inputs, d)
		}
	}
}

func TestPreviewAny(t *testing.T) {
	env := &fakeEnv{}
	obj, _ := comfyjson.Decode([]byte(`{"a": [1, 2.0]}`))
	for _, tt := range []struct {
		in   any
		want string
	}{
		{"text", "text"}, {json.Number("1e2"), "100.0"}, {true, "True"}, {nil, "None"}, {obj, `{"a": [1, 2.0]}`},
	} {
		res, err := call(t, env, "PreviewAny", map[string]any{"source": tt.in})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.UI[0].Value.([]any)[0]; got != tt.want {
			t.Errorf("PreviewAny(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGetImageSizeSendsText(t *testing.T) {
	env := &fakeEnv{}
	img, _ := tensor.Solid(tensor.Limits{}, 3, 5, 7, 0)
	res, err := call(t, env, "GetImageSize", map[string]any{"image": img})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]any{json.Number("7"), json.Number("5"), json.Number("3")}, res.Outputs); d != "" {
		t.Error(d)
	}
	if d := cmp.Diff([]string{"width: 7, height: 5\n batch size: 3"}, env.texts); d != "" {
		t.Error(d)
	}
}

func TestMissingModelAndBadInput(t *testing.T) {
	env := &fakeEnv{}
	_, err := call(t, env, "CheckpointLoaderSimple", map[string]any{"ckpt_name": "other.safetensors"})
	var exc *Exception
	if !errors.As(err, &exc) || exc.Type != "FileNotFoundError" {
		t.Errorf("missing model: %v", err)
	}
	_, err = call(t, env, "ImageInvert", map[string]any{"image": "not an image"})
	if !errors.As(err, &exc) || exc.Type != "TypeError" {
		t.Errorf("wrong input type: %v", err)
	}
}

func TestSaveImageWebsocketProgress(t *testing.T) {
	env := &fakeEnv{}
	img, _ := tensor.Solid(tensor.Limits{}, 3, 2, 2, 0)
	if _, err := call(t, env, "SaveImageWebsocket", map[string]any{"images": img}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][2]int{{0, 3}, {1, 3}, {2, 3}}, env.progress); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
}
