package clientcompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// result is what a client got from one run. The scripts print it as JSON
// (see js/README.md); the cfli run is turned into one.
type result struct {
	Library  string      `json:"library"`
	Version  string      `json:"version"`
	PromptID string      `json:"prompt_id"`
	Upload   *uploadRef  `json:"upload"`
	Images   []imageInfo `json:"images"`
	History  *history    `json:"history"`
	// Progress is every "progress" message the client's socket got;
	// LibraryProgress is what the library passed to its own run-progress
	// callback.
	Progress        []progress `json:"progress"`
	LibraryProgress []progress `json:"library_progress"`
	MessageTypes    []string   `json:"message_types"`

	// downloaded holds the image files the client wrote to disk, by name
	// (cfli); nil when the client kept them in memory.
	downloaded map[string][]byte
}

type uploadRef struct {
	Name      string `json:"name"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

type imageInfo struct {
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
	Format    string `json:"format"` // "png", or "unknown" with Head
	Head      string `json:"head"`   // first bytes in hex when not a PNG
	Bytes     int    `json:"bytes"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

type history struct {
	StatusStr   string   `json:"status_str"`
	Completed   bool     `json:"completed"`
	OutputNodes []string `json:"output_nodes"`
	Files       []string `json:"files"`
}

type progress struct {
	PromptID string  `json:"prompt_id"`
	Node     string  `json:"node"`
	Value    float64 `json:"value"`
	Max      float64 `json:"max"`
}

// run is one run of a graph case by a client.
type run struct {
	c        graphCase
	n        int
	workflow string // c's graph with run n's inputs
	upload   string // image file to upload; "" none
}

// client is one third-party client, run unchanged.
type client struct {
	name string
	// uploads: the library can upload an image.
	uploads bool
	// reports: the run reports its prompt id, progress and history (cfli
	// prints only the outputs).
	reports bool
	run     func(tb testing.TB, e env, base string, r run) result
}

func clients() []client {
	return []client{
		{name: "saintno-sdk", uploads: true, reports: true, run: script("saintno.mjs")},
		{name: "stable-canvas", reports: true, run: script("stablecanvas.mjs")},
		{name: "saintno-cfli", run: runCfli},
	}
}

// script runs one of js/'s scripts.
func script(name string) func(testing.TB, env, string, run) result {
	return func(tb testing.TB, e env, base string, r run) result {
		tb.Helper()
		args := []string{"--url", base, "--workflow", r.workflow, "--timeout-ms", fmt.Sprint(scriptTimeout.Milliseconds())}
		if r.upload != "" {
			args = append(args, "--upload", r.upload)
		}
		out := e.runNode(tb, tb.Context(), name, args...)
		var res result
		if err := json.Unmarshal(lastLine(out), &res); err != nil {
			tb.Fatalf("%s printed no result: %v\n%s", name, err, tail(out))
		}
		return res
	}
}

// runCfli runs the SDK's cfli command the way its README shows: the
// testdata graph with -i overrides, --json output and -d downloads.
func runCfli(tb testing.TB, e env, base string, r run) result {
	tb.Helper()
	dir := tb.TempDir()
	args := []string{"-f", testdataPath(tb, r.c.file), "-H", base, "--json", "-q", "-d", "-o", dir,
		"-t", fmt.Sprint(scriptTimeout.Milliseconds())}
	for _, in := range r.c.inputs(r.n) {
		args = append(args, "-i", fmt.Sprintf("%s.inputs.%s=%v", in.node, in.input, in.value))
	}
	out := e.runNode(tb, tb.Context(), e.cfli, args...)
	var got struct {
		Status  string `json:"status"`
		Outputs struct {
			Raw map[string]struct {
				Images []imageInfo `json:"images"`
			} `json:"_raw"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		tb.Fatalf("cfli printed no JSON result: %v\n%s", err, tail(out))
	}
	if got.Status != "completed" {
		tb.Fatalf("cfli: status %q, want completed\n%s", got.Status, tail(out))
	}
	res := result{Library: saintnoSDK, Version: e.installed(tb, saintnoSDK), downloaded: map[string][]byte{}}
	nodes := make([]string, 0, len(got.Outputs.Raw))
	for id := range got.Outputs.Raw {
		nodes = append(nodes, id)
	}
	sort.Strings(nodes)
	for _, id := range nodes {
		for _, img := range got.Outputs.Raw[id].Images {
			data, err := os.ReadFile(filepath.Join(dir, img.Filename))
			if err != nil {
				tb.Fatalf("cfli did not download %s: %v", img.Filename, err)
			}
			res.downloaded[img.Filename] = data
			res.Images = append(res.Images, describePNG(img, data))
		}
	}
	return res
}

// describePNG fills in an image's format and size from its bytes.
func describePNG(img imageInfo, data []byte) imageInfo {
	img.Bytes = len(data)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		img.Format, img.Head = "unknown", fmt.Sprintf("%x", data[:min(8, len(data))])
		return img
	}
	img.Format, img.Width, img.Height = "png", cfg.Width, cfg.Height
	return img
}

// installed is the version of an npm package in js/node_modules.
func (e env) installed(tb testing.TB, pkg string) string {
	tb.Helper()
	var m struct {
		Version string `json:"version"`
	}
	readJSON(tb, filepath.Join(e.jsDir, "node_modules", pkg, "package.json"), &m)
	return m.Version
}

// lastLine is the last non-empty line of out: the result, after anything
// a library logged.
func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}
