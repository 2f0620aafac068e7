package clientcompat

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestClientsAgainstSimulator runs every client against the simulator on
// its own: the reference the gateway must match, and a check that the
// scripts themselves are right.
func TestClientsAgainstSimulator(t *testing.T) {
	e := needEnv(t)
	hc := httpClient(t)
	sim := comfysim.Start(t, simOptions())
	runClients(t, e, hc, sim.URL())
}

// TestClientsAgainstComfygate points the same unchanged clients at
// comfygate's own listener, with two simulated backends behind it.
func TestClientsAgainstComfygate(t *testing.T) {
	e := needEnv(t)
	hc := httpClient(t)
	base := startGateway(t, hc)
	runClients(t, e, hc, base)
	logBackends(t, hc, base)
}

// runClients runs every graph case with every client that can, the
// clients at the same time (so that a fleet has work for both backends),
// each client's cases one after another. It returns when all have ended.
func runClients(t *testing.T, e env, hc *http.Client, base string) {
	t.Helper()
	var ids atomic.Int64
	ids.Store(1000)
	t.Run("clients", func(t *testing.T) {
		for _, cl := range clients() {
			t.Run(cl.name, func(t *testing.T) {
				t.Parallel()
				for _, c := range graphCases() {
					if c.upload && !cl.uploads {
						continue
					}
					t.Run(c.name, func(t *testing.T) {
						n := int(ids.Add(1))
						r := run{c: c, n: n, workflow: writeGraph(t, c, n)}
						if c.upload {
							r.upload = writeUpload(t, n)
						}
						res := cl.run(t, e, base, r)
						logResult(t, res)
						checkResult(t, e, hc, base, cl, r, res)
					})
				}
			})
		}
	})
}

func logResult(t *testing.T, res result) {
	t.Helper()
	var imgs []string
	for _, img := range res.Images {
		imgs = append(imgs, img.Filename)
	}
	t.Logf("%s %s: prompt %q, images %v, %d progress messages (%d to the library), messages %s",
		res.Library, res.Version, res.PromptID, imgs, len(res.Progress), len(res.LibraryProgress),
		strings.Join(res.MessageTypes, ","))
}
