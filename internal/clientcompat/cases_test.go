package clientcompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// graphCase is one workflow the clients run, and what they must get back.
type graphCase struct {
	name string
	file string // API-format graph in testdata/
	// inputs are the values that make run n's graph differ from every
	// other run's, so that no run is answered from a backend's cache: a
	// fully cached run ends within microseconds, and the libraries lose
	// it (they subscribe to a prompt's messages only after POST /prompt
	// has answered, which such a run outlasts).
	inputs func(n int) []setInput
	// upload: the graph loads an image the client uploads first.
	upload bool

	width, height int
	// pixel is the colour every pixel of the result must have (±1 per
	// channel: ComfyUI's float round trip truncates); nil: not checked.
	pixel func(n int) color.RGBA
	// sampler is the node whose step-by-step progress the client must
	// see, steps its step count; "" for graphs without one.
	sampler string
	steps   int
}

// setInput sets one node input.
type setInput struct {
	node, input string
	value       any
}

// uploadColor is the colour of the image the upload case sends.
var uploadColor = color.RGBA{R: 200, G: 100, B: 50, A: 255}

func graphCases() []graphCase {
	return []graphCase{
		{
			name:   "txt2img",
			file:   "txt2img.json",
			inputs: func(n int) []setInput { return []setInput{{"3", "seed", n}} },
			width:  320, height: 256,
			sampler: "3", steps: 8,
		},
		{
			name:   "model-free",
			file:   "modelfree.json",
			inputs: func(n int) []setInput { return []setInput{{"1", "color", colorOf(n)}} },
			width:  64, height: 48,
			pixel: func(n int) color.RGBA { return inverted(rgbOf(colorOf(n))) },
		},
		{
			name: "upload-loadimage",
			file: "loadimage.json",
			inputs: func(n int) []setInput {
				return []setInput{{"3", "filename_prefix", fmt.Sprintf("clientcompat_upload_%d", n)}}
			},
			upload: true,
			width:  40, height: 30,
			pixel: func(int) color.RGBA { return inverted(uploadColor) },
		},
	}
}

// colorOf is EmptyImage's colour input (0xRRGGBB) of run n.
func colorOf(n int) int { return (n * 0x1f3d5b) & 0xffffff }

func rgbOf(c int) color.RGBA {
	return color.RGBA{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c), A: 255}
}

func inverted(c color.RGBA) color.RGBA {
	return color.RGBA{R: 255 - c.R, G: 255 - c.G, B: 255 - c.B, A: 255}
}

// graphNode is one node of an API-format graph, as far as the test edits it.
type graphNode struct {
	ClassType string         `json:"class_type"`
	Inputs    map[string]any `json:"inputs"`
	Meta      map[string]any `json:"_meta,omitempty"`
}

// testdataPath is the absolute path of a testdata file (the clients run
// in js/).
func testdataPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// writeGraph writes c's graph with run n's inputs set to a new file.
func writeGraph(tb testing.TB, c graphCase, n int) string {
	tb.Helper()
	data, err := os.ReadFile(testdataPath(tb, c.file))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var g map[string]*graphNode
	if err := dec.Decode(&g); err != nil {
		tb.Fatalf("%s: %v", c.file, err)
	}
	for _, in := range c.inputs(n) {
		node := g[in.node]
		if node == nil {
			tb.Fatalf("%s: no node %s", c.file, in.node)
		}
		node.Inputs[in.input] = in.value
	}
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("%s-%d.json", c.name, n))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// writeUpload writes the solid image the upload case sends, with a name
// of its own.
func writeUpload(tb testing.TB, n int) string {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.SetRGBA(x, y, uploadColor)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("clientcompat-%d.png", n))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
