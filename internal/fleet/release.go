package fleet

import (
	"sync"
	"time"
)

// catalogSettle is how long after the last catalog load the garbage of
// parsing it goes back to the system.
const catalogSettle = 2 * time.Second

// memRelease hands the memory freed after catalog loads back to the
// system. Parsing a backend's /object_info (hundreds of KB to MBs of JSON)
// leaves several times its size in garbage; the runtime keeps the pages
// until a later collection shrinks its goal, which an idle gateway only
// runs every two minutes, so its resident memory depended on when the last
// collection happened to fall. One forced collection once loads settle
// (they come in bursts: start-up, reconnects) makes the idle figure the
// working set. The timer is real time on purpose: it concerns this
// process's memory, not the fleet's clock.
type memRelease struct {
	settle  time.Duration
	release func() // debug.FreeOSMemory

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

// soon (re)arms the release settle from now.
func (m *memRelease) soon() {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stopped:
	case m.t == nil:
		m.t = time.AfterFunc(m.settle, m.run)
	default:
		m.t.Reset(m.settle)
	}
}

func (m *memRelease) run() {
	m.mu.Lock()
	stopped := m.stopped
	m.mu.Unlock()
	if !stopped {
		m.release()
	}
}

// stop cancels a pending release; soon does nothing after it.
func (m *memRelease) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	if m.t != nil {
		m.t.Stop()
	}
}
