package comfyapi

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

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
		e := newEnv(tb, envOptions{})
		return fidelity.Target{BaseURL: e.srv.URL, Control: fidelity.Controls{
			SetNodeDelay: func(_ context.Context, class string, d time.Duration) error {
				e.sim.SetClassDelay(class, d)
				return nil
			},
		}}
	}, opts)
}
