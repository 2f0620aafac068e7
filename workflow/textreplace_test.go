package workflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/workflow"
)

// tokenGraph has a save node whose prefix is the case's, a sampler and a
// renamed latent node to refer to.
func tokenGraph(tb testing.TB, prefix string) workflow.Graph {
	tb.Helper()
	g := parse(tb, `{
	  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}, "_meta": {"title": "Size"}},
	  "3": {"class_type": "KSampler", "inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 7.50, "denoise": 1.0, "sampler_name": "euler", "scheduler": "normal", "latent_image": ["5", 0]}},
	  "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a/b:c*d?", "clip": ["4", 1]}},
	  "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "", "images": ["8", 0]}},
	  "10": {"class_type": "PreviewImage", "inputs": {"filename_prefix": "%date:yyyy%", "images": ["8", 0]}}
	}`)
	g["9"].Inputs["filename_prefix"] = prefix
	return g
}

// TestExpandTextTokens reproduces the ComfyUI editor's applyTextReplacements
// and formatDate (ComfyUI_frontend, searchAndReplace.ts and formatUtil.ts),
// quirks included.
func TestExpandTextTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, time.March, 7, 9, 5, 3, 0, time.FixedZone("X", 3600))
	tests := []struct{ name, prefix, want string }{
		{"date", "ComfyUI_%date:yyyy-MM-dd%", "ComfyUI_2025-03-07"},
		{"date and time", "%date:yyyyMMdd_hhmmss%/img", "20250307_090503/img"},
		{"short parts are not padded", "%date:d-M-yy h:m:s%", "7-3-25 9:5:3"},
		{"yyy is no format", "%date:yyy%", "yyy"},
		{"other letters kept", "%date:yyyy-MM-dd (Week)%", "2025-03-07 (Week)"},
		{"two dots read the first part only", "%date:yyyy.MM.dd%", "2025"},
		{"one dot is a node reference", "%date:yyyy.MM%", "%date:yyyy.MM%"},
		{"node by class", "seed_%KSampler.seed%_%KSampler.steps%", "seed_18446744073709552000_20"},
		{"numbers as JavaScript writes them", "%KSampler.cfg%-%KSampler.denoise%", "7.5-1"},
		{"node by title", "%Size.width%x%Size.height%", "512x768"},
		{"class before title", "%EmptyLatentImage.batch_size%", "1"},
		{"unsafe characters", "%CLIPTextEncode.text%", "a_b_c_d_"},
		{"linked input", "%KSampler.latent_image%", "%KSampler.latent_image%"},
		{"unknown node", "%Nope.seed%", "%Nope.seed%"},
		{"unknown widget", "%KSampler.nope%", "%KSampler.nope%"},
		{"server's own tokens", "%width%_%height%_%year%", "%width%_%height%_%year%"},
		{"several", "%date:yyyy%/%KSampler.sampler_name%/%date:MM%", "2025/euler/03"},
		{"no tokens", "plain", "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := tokenGraph(t, tc.prefix)
			out := workflow.ExpandTextTokens(g, now)
			if got := out["9"].Inputs["filename_prefix"]; got != tc.want {
				t.Errorf("%q → %q, want %q", tc.prefix, got, tc.want)
			}
			if g["9"].Inputs["filename_prefix"] != tc.prefix {
				t.Error("the input graph was modified")
			}
			if got := out["10"].Inputs["filename_prefix"]; got != "%date:yyyy%" {
				t.Errorf("PreviewImage (no save node) expanded to %q", got)
			}
		})
	}
}

// TestFromUIPinsEditorOnlyReferences: converting an editor workflow writes
// in the references the API format cannot resolve (a node found by its
// "Node name for S&R"), and keeps the others and dates for each job.
func TestFromUIPinsEditorOnlyReferences(t *testing.T) {
	t.Parallel()
	ui := `{"last_node_id": 3, "last_link_id": 1,
	  "nodes": [
	    {"id": 1, "type": "EmptyImage", "title": "Canvas", "mode": 0, "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
	     "properties": {"Node name for S&R": "EmptyImage"}, "widgets_values": [512, 256, 1, 0]},
	    {"id": 2, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
	     "properties": {}, "widgets_values": ["%Canvas.width%_%Sampler.seed%_%date:yyyy%_%KSampler.steps%"]},
	    {"id": 3, "type": "KSampler", "mode": 0, "properties": {"Node name for S&R": "Sampler"},
	     "widgets_values": [123, "fixed", 20, 8, "euler", "normal", 1]}],
	  "links": [[1, 1, 0, 2, 0, "IMAGE"]]}`
	g, err := workflow.FromUI([]byte(ui), defaultCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	// Canvas is found by title both ways, and KSampler (no S&R match in the
	// editor: its S&R name is Sampler) by title in the editor and by class
	// in the API graph, on the same node: both stay for each job. Sampler
	// exists only as an S&R name: pinned now.
	want := "%Canvas.width%_123_%date:yyyy%_%KSampler.steps%"
	if got := g["2"].Inputs["filename_prefix"]; got != want {
		t.Errorf("prefix = %q, want %q", got, want)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := workflow.ExpandTextTokens(g, now)["2"].Inputs["filename_prefix"]; got != "512_123_2025_20" {
		t.Errorf("expanded for a job: %q", got)
	}
}

// FuzzExpandTextTokens: any prefix expands without a panic, and a prefix
// without % is left alone.
func FuzzExpandTextTokens(f *testing.F) {
	for _, s := range []string{"%date:yyyy-MM-dd%", "%KSampler.seed%", "%%", "%a.b.c%", "%date:%", "x%y"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, prefix string) {
		g := tokenGraph(t, prefix)
		got, _ := workflow.ExpandTextTokens(g, now)["9"].Inputs["filename_prefix"].(string)
		if !strings.Contains(prefix, "%") && got != prefix {
			t.Errorf("%q changed to %q", prefix, got)
		}
	})
}
