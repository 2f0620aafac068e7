package fidelity

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

var (
	reportPath = flag.String("fidelity.report", "", "write every mismatch with its diff to this markdown file")
	rawDir     = flag.String("fidelity.raw", "", "write each scenario's raw transcript into this directory")
	slowDelay  = flag.Duration("fidelity.slow", 0, "ImageBlur delay of the timing scenarios (default 1s, doubled on each missed window)")
	only       = flag.String("fidelity.only", "", "comma-separated scenario name prefixes to run (default all)")
)

// simTarget starts a fresh simulator per scenario.
func simTarget(tb testing.TB) Target {
	// The captured server had no model files at all.
	none := []string{}
	srv := comfysim.Start(tb, comfysim.Options{Checkpoints: none, Loras: none, VAEs: none, Embeddings: none})
	return Target{
		BaseURL: srv.URL(),
		Control: Controls{
			SetNodeDelay: func(_ context.Context, class string, d time.Duration) error {
				srv.SetClassDelay(class, d)
				return nil
			},
		},
	}
}

// TestSimulator replays every capture scenario against comfy/comfysim. Its
// log ends with the line to quote: "fidelity: N/M checks match".
func TestSimulator(t *testing.T) {
	opts := Options{RawDir: *rawDir, SlowDelay: *slowDelay}
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	rep := Run(t, simTarget, opts)
	if *reportPath != "" {
		if err := rep.WriteMarkdown(*reportPath, "Fidelity of comfy/comfysim against the real ComfyUI 0.3.64"); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
}
