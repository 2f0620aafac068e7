package comfyapi

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/fidelity"
)

var (
	fidelityRaw  = flag.String("fidelity.raw", "", "write each scenario's raw transcript into this directory")
	fidelityOnly = flag.String("fidelity.only", "", "comma-separated scenario name prefixes to run (default all)")
)

// TestFidelity replays the real ComfyUI captures against comfygate with one
// simulated backend: a ComfyUI client must not be able to tell comfygate
// from ComfyUI. Its log ends with "fidelity: N/M checks match".
func TestFidelity(t *testing.T) {
	opts := fidelity.Options{RawDir: *fidelityRaw}
	if *fidelityOnly != "" {
		opts.Only = strings.Split(*fidelityOnly, ",")
	}
	fidelity.Run(t, func(tb testing.TB) fidelity.Target {
		// The captured server had no model files. One prompt in ComfyUI's
		// hands at a time: with the fleet's usual prefetch (two), the next
		// prompt would already sit in the backend's queue, and the
		// captures' queue views and run order (front, number) would differ.
		none := []string{}
		e := newFleetEnv(tb, fleetEnvOptions{backends: 1, maxInflight: 1,
			sim: comfysim.Options{Checkpoints: none, Loras: none, VAEs: none, Embeddings: none}})
		return fidelity.Target{BaseURL: e.srv.URL, Control: fidelity.Controls{
			SetNodeDelay: func(_ context.Context, class string, d time.Duration) error {
				e.sims[0].SetClassDelay(class, d)
				return nil
			},
		}}
	}, opts)
}
