package fleet

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// Catalog loads in a burst lead to one release once they settle.
func TestMemoryReleasedAfterCatalogLoads(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	m := &memRelease{settle: 200 * time.Millisecond, release: func() { n.Add(1) }}
	t.Cleanup(m.stop)
	for range 3 {
		m.soon()
	}
	waitUntil(t, "the release", func() bool { return n.Load() > 0 })
	if got := n.Load(); got != 1 {
		t.Errorf("%d releases after a burst of loads, want 1", got)
	}
}

// A stopped fleet releases nothing, even when its timer already fired.
func TestMemoryReleaseStops(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	m := &memRelease{settle: time.Hour, release: func() { n.Add(1) }}
	m.soon()
	m.stop()
	m.run() // what a timer that fired as stop was called does
	m.soon()
	if got, armed := n.Load(), m.t.Stop(); got != 0 || armed {
		t.Errorf("%d releases after stop, timer armed %v; want none, not armed", got, armed)
	}
}

// A backend's catalog load arms the release.
func TestCatalogLoadArmsMemoryRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backendOf("gpu", startSim(t, comfysim.Options{}), 1))
	e.waitHealthy(t)
	e.fleet.memory.mu.Lock()
	armed := e.fleet.memory.t != nil
	e.fleet.memory.mu.Unlock()
	if !armed {
		t.Error("a catalog was loaded but no memory release is due")
	}
}
