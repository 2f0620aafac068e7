// Package fidelity proves that a server behaves like the real ComfyUI 0.3.64
// whose traffic was captured (testdata/raw, converted from the shared
// captures). It exists because comfygate is only useful if existing ComfyUI
// clients cannot tell it apart from ComfyUI, and the only trustworthy
// definition of "like ComfyUI" is what a real ComfyUI did on the wire.
//
// Each scenario drives a fresh [Target] through the same interaction as the
// capture tool (same requests in the same order, same sockets and client ids),
// records what the target answered, normalises it with the same code that
// turned the capture into testdata/*.golden.json, and compares the two one
// step at a time (one HTTP exchange or one WebSocket's message sequence is one
// check). The normalisation removes only what differs from run to run or from
// machine to machine (prompt ids, timestamps, temp-file prefixes, counters
// that depend on earlier traffic, RAM figures, local paths); everything a
// client could branch on is kept.
//
// The same harness runs against the simulator (comfy/comfysim, sim_test.go)
// and, later, against comfygate's ComfyUI-compatible surface. Any test can
// point it at another target:
//
//	func TestComfyAPIFidelity(t *testing.T) {
//		rep := fidelity.Run(t, func(tb testing.TB) fidelity.Target {
//			sim := comfysim.Start(tb, comfysim.Options{Checkpoints: []string{}})
//			gw := startGateway(tb, sim.URL()) // fresh: empty queue and history
//			return fidelity.Target{BaseURL: gw.URL, Control: fidelity.Controls{
//				SetNodeDelay: func(_ context.Context, class string, d time.Duration) error {
//					sim.SetClassDelay(class, d) // on every backend behind the gateway
//					return nil
//				},
//			}}
//		}, fidelity.Options{})
//		t.Log(rep.Summary())
//	}
//
// Timing scenarios need a slow node (Controls.SetNodeDelay); the harness
// never sleeps, it waits for WebSocket events, and when a slow machine lets
// the node end before the requests meant to happen during it, it retries the
// scenario with a longer delay instead of reporting a difference.
package fidelity
