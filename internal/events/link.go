package events

import (
	"sync/atomic"
)

// Publisher accepts events for fan-out. *Hub implements it.
type Publisher interface {
	// Publish must not block; see Hub.Publish for the event contract.
	Publish(e Event)
}

var _ Publisher = (*Hub)(nil)

// Forwarder takes the events a hub publishes, to send them to the hubs of
// the other replicas (Options.Forward). Forward is called under the job's
// lock, in the job's order, and must not block.
type Forwarder interface {
	Forward(e Event)
}

// Transport carries bytes to the other replicas sharing a database; the
// PostgreSQL store's Bus (LISTEN/NOTIFY) is one. Send must not block; it
// may drop a droppable message, and may lose any message: the hub heals
// durable events from the store.
type Transport interface {
	Send(topic string, body []byte, droppable bool) bool
}

// Link is the cross-replica fan-out adapter: as the hub's Forwarder it
// encodes each event for a Transport (durable events not droppable,
// ephemeral ones droppable), and Receive feeds into the hub what the other
// replicas sent. Every replica's hub thus sees every job's events, and any
// replica can serve any stream; a client that resumes elsewhere gets the
// durable events from the store, ephemeral ones only as they come.
type Link struct {
	t     Transport
	topic string
	hub   atomic.Pointer[Hub]
	// wanted, if set, says whether another replica watches any job now;
	// ephemeral events are sent only then.
	wanted atomic.Pointer[func() bool]

	forwarded, received, dropped, skipped atomic.Uint64
}

var _ Forwarder = (*Link)(nil)

// NewLink returns a link sending on topic of t. Give it to the hub as
// Options.Forward, then Bind the hub.
func NewLink(t Transport, topic string) *Link { return &Link{t: t, topic: topic} }

// Bind sets the hub that Receive and Resync feed.
func (l *Link) Bind(h *Hub) { l.hub.Store(h) }

// SendEphemeralWhen makes the link send progress and previews only while
// wanted reports that some other replica has a subscriber for them (see
// Hub.Watchers): they are most of a job's events, and nobody resumes
// them. Durable events are always sent. wanted must be cheap.
func (l *Link) SendEphemeralWhen(wanted func() bool) { l.wanted.Store(&wanted) }

// Forward implements Forwarder.
func (l *Link) Forward(e Event) {
	if w := l.wanted.Load(); w != nil && !e.Durable() && !(*w)() {
		l.skipped.Add(1)
		return
	}
	if l.t.Send(l.topic, AppendWire(nil, e), !e.Durable()) {
		l.forwarded.Add(1)
	} else {
		l.dropped.Add(1)
	}
}

// Receive delivers an event another replica forwarded. An unreadable one
// is counted and dropped: if it was durable, the next one shows the gap.
func (l *Link) Receive(body []byte) {
	h := l.hub.Load()
	e, err := ReadWire(body)
	if h == nil || err != nil {
		l.dropped.Add(1)
		return
	}
	l.received.Add(1)
	h.Deliver(e)
}

// Resync tells the hub that events from other replicas may have been lost.
func (l *Link) Resync() {
	if h := l.hub.Load(); h != nil {
		h.Resync()
	}
}

// LinkStats counts a link's traffic.
type LinkStats struct {
	Forwarded, Received, Dropped uint64
	// Skipped counts ephemeral events not sent: no other replica wanted
	// them.
	Skipped uint64
}

// Stats returns the link's counters.
func (l *Link) Stats() LinkStats {
	return LinkStats{Forwarded: l.forwarded.Load(), Received: l.received.Load(), Dropped: l.dropped.Load(),
		Skipped: l.skipped.Load()}
}
