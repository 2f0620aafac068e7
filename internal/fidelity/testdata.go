package fidelity

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// testdata is embedded so that tests of other packages (the gateway's
// ComfyUI surface) can run the harness from their own directory.
//
//go:embed testdata
var testdata embed.FS

// workflowSet holds the prompts the scenarios send, by file name relative to
// testdata/workflows ("basic.json", "derived/15-a.json"). Request bodies that
// carry one of them are written "<workflow basic.json>" in the goldens, which
// keeps the files readable and proves the harness sent the captured prompt.
type workflowSet struct {
	raw   map[string][]byte
	plain map[string]any
	names []string
}

func loadWorkflows() (*workflowSet, error) {
	ws := &workflowSet{raw: map[string][]byte{}, plain: map[string]any{}}
	err := fs.WalkDir(testdata, "testdata/workflows", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" || strings.Contains(p, "invalid-bodies") {
			return err
		}
		b, err := testdata.ReadFile(p)
		if err != nil {
			return err
		}
		v, err := comfyjson.Decode(b)
		if err != nil {
			return fmt.Errorf("workflow %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, "testdata/workflows/")
		ws.raw[name] = b
		ws.plain[name] = comfyjson.Plain(v)
		ws.names = append(ws.names, name)
		return nil
	})
	slices.Sort(ws.names)
	return ws, err
}

// get returns a workflow's bytes; a missing name is a harness bug.
func (ws *workflowSet) get(name string) json.RawMessage {
	b, ok := ws.raw[name]
	if !ok {
		panic("fidelity: no workflow " + name)
	}
	return b
}

// abbreviate replaces a request body's "prompt" by "<workflow NAME>" when it
// is exactly one of the known workflows.
func (ws *workflowSet) abbreviate(v any) any {
	o, ok := v.(comfyjson.Object)
	if !ok {
		return v
	}
	p, ok := o.Get("prompt")
	if !ok {
		return v
	}
	pp := comfyjson.Plain(p)
	for _, name := range ws.names {
		if reflect.DeepEqual(pp, ws.plain[name]) {
			o.Set("prompt", "<workflow "+name+">")
			return o
		}
	}
	return v
}

// invalidBody returns a file of testdata/workflows/invalid-bodies.
func invalidBody(name string) []byte {
	b, err := testdata.ReadFile("testdata/workflows/invalid-bodies/" + name)
	if err != nil {
		panic("fidelity: " + err.Error())
	}
	return b
}

// loadRaw reads the raw capture transcripts shipped in testdata/raw.
func loadRaw() (map[string]Raw, error) {
	entries, err := testdata.ReadDir("testdata/raw")
	if err != nil {
		return nil, err
	}
	out := map[string]Raw{}
	for _, e := range entries {
		b, err := testdata.ReadFile("testdata/raw/" + e.Name())
		if err != nil {
			return nil, err
		}
		var r Raw
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("raw %s: %w", e.Name(), err)
		}
		out[r.Scenario] = r
	}
	return out, nil
}
