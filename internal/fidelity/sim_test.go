package fidelity

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

var reportPath = flag.String("fidelity.report", "", "write every mismatch with its diff to this markdown file")

// simTarget starts a fresh simulator per scenario.
func simTarget(tb testing.TB) Target {
	srv := comfysim.Start(tb, comfysim.Options{})
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
	rep := Run(t, simTarget, Options{})
	if *reportPath != "" {
		if err := rep.WriteMarkdown(*reportPath, "Fidelity of comfy/comfysim against the real ComfyUI 0.3.64"); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
}
