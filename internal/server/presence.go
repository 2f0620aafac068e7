package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/internal/store/postgres"
)

// topicPresence carries what each replica currently wants of the others.
const topicPresence = "here"

// Presence timing: a replica looks at its own state every presenceEvery,
// says so at once when it changes and again every presenceRefresh while
// it wants anything; what it said is believed for presenceTTL.
const (
	presenceEvery   = 50 * time.Millisecond
	presenceRefresh = 2 * time.Second
	presenceTTL     = 3 * presenceRefresh
)

// wants is what a replica needs from the others beyond what always goes
// (durable job events, the backends' messages that decide an outcome).
type wants struct {
	events  bool // it has job streams: send progress and previews
	sockets bool // it has ComfyUI sockets: send the backends' progress messages
}

func (w wants) byte() byte {
	var b byte
	if w.events {
		b |= 1
	}
	if w.sockets {
		b |= 2
	}
	return b
}

// presence keeps the replicas' wants, so that the bulk of a job's traffic
// (progress, previews) crosses to other replicas only while one of them
// has somebody watching. A watcher that arrives misses at most a moment of
// progress, which it could lose anyway: it is never stored.
type presence struct {
	origin string
	bus    *postgres.Bus
	now    func() time.Time
	local  atomic.Pointer[func() wants] // this replica's wants, once its surfaces exist

	mu    sync.Mutex // guards peers and the writes of the sums below
	peers map[string]peerWants
	// What the peers want together, recomputed on every message and tick,
	// so that the per-event checks are one atomic load.
	othersEvents, othersSockets atomic.Bool

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

type peerWants struct {
	w     wants
	until time.Time
}

func newPresence(origin string, bus *postgres.Bus) *presence {
	return &presence{origin: origin, bus: bus, now: time.Now, peers: map[string]peerWants{}}
}

// watch sets how this replica's wants are read.
func (p *presence) watch(local func() wants) { p.local.Store(&local) }

// start runs the announcing loop until stop.
func (p *presence) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.wg.Go(func() { p.loop(ctx) })
}

func (p *presence) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

func (p *presence) loop(ctx context.Context) {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	var (
		last     wants
		lastSent time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.recompute() // lets what lapsed lapse
		w := p.own()
		if w != last || w != (wants{}) && time.Since(lastSent) >= presenceRefresh {
			p.bus.Send(topicPresence, append([]byte{w.byte()}, p.origin...), false)
			last, lastSent = w, time.Now()
		}
	}
}

func (p *presence) own() wants {
	if fn := p.local.Load(); fn != nil {
		return (*fn)()
	}
	return wants{}
}

// receive records what another replica said.
func (p *presence) receive(body []byte) {
	if len(body) < 2 {
		return
	}
	w := wants{events: body[0]&1 != 0, sockets: body[0]&2 != 0}
	p.mu.Lock()
	p.peers[string(body[1:])] = peerWants{w: w, until: p.now().Add(presenceTTL)}
	p.mu.Unlock()
	p.recompute()
}

// recompute forgets what lapsed and sums up what the others want. The sums
// are stored under mu, so that a message and a tick recomputing at once
// cannot leave the older sum in place.
func (p *presence) recompute() {
	now := p.now()
	var sum wants
	p.mu.Lock()
	defer p.mu.Unlock()
	for origin, pw := range p.peers {
		if !now.Before(pw.until) {
			delete(p.peers, origin)
			continue
		}
		sum.events = sum.events || pw.w.events
		sum.sockets = sum.sockets || pw.w.sockets
	}
	p.othersEvents.Store(sum.events)
	p.othersSockets.Store(sum.sockets)
}

// wantsEvents: another replica has job streams.
func (p *presence) wantsEvents() bool { return p.othersEvents.Load() }

// wantsSockets: another replica has ComfyUI sockets.
func (p *presence) wantsSockets() bool { return p.othersSockets.Load() }
