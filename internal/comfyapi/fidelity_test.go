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
	// One prompt in ComfyUI's hands at a time: with the fleet's usual
	// prefetch (two), the next prompt would already sit in the backend's
	// queue, committed to run next, and the captures' run order (front,
	// number) would differ.
	fidelity.Run(t, fidelityTarget(1), opts)
}

// TestFidelityQueueWithPrefetch replays the captures of the queue while a
// prompt runs (/queue, /prompt, deleting and interrupting prompts) with
// the fleet's usual prefetch: the prompt already in the backend's queue
// has not started, so it is pending, as in ComfyUI.
func TestFidelityQueueWithPrefetch(t *testing.T) {
	fidelity.Run(t, fidelityTarget(2), fidelity.Options{Only: []string{"04-queue-busy", "08-queue-delete", "09-interrupt"}})
}

// fidelityTarget is comfygate in front of one simulated backend that is
// given up to inflight prompts at once.
func fidelityTarget(inflight int) fidelity.NewTarget {
	return func(tb testing.TB) fidelity.Target {
		none := []string{} // the captured server had no model files
		e := newFleetEnv(tb, fleetEnvOptions{backends: 1, maxInflight: inflight,
			sim: comfysim.Options{Checkpoints: none, Loras: none, VAEs: none, Embeddings: none}})
		return fidelity.Target{BaseURL: e.srv.URL, Control: fidelity.Controls{
			SetNodeDelay: func(_ context.Context, class string, d time.Duration) error {
				e.sims[0].SetClassDelay(class, d)
				return nil
			},
		}}
	}
}
