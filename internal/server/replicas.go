package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/store/postgres"
)

// Topics of the bus between replicas.
const (
	topicEvents = "ev"    // job events, for streams served by any replica
	topicTap    = "tap"   // the backends' own messages, for ComfyUI sockets on any replica
	topicFleet  = "fleet" // the fleet's signals: jobs queued, backends changed, cancels
)

// replicas is what makes this process one of several sharing a PostgreSQL
// database: the bus they talk over, the event hub's link, and the
// forwarding of the backends' raw messages to the ComfyUI-compatible
// surface of every replica. With SQLite there is one process and no
// replicas value at all.
type replicas struct {
	bus  *postgres.Bus
	link *events.Link
	tap  *tapForward
	here *presence
	// fleetIn receives the other replicas' fleet signals once the fleet
	// exists; they are dropped before (the fleet's start reads the tables).
	fleetIn atomic.Pointer[func([]byte)]
}

// newReplicas builds the bus over pg for the replica id. Nothing is sent
// or heard before start.
func newReplicas(pg *postgres.Store, id string, local fleet.Tap, log *slog.Logger) (*replicas, error) {
	bus, err := postgres.NewBus(pg, postgres.BusConfig{Origin: id, Logger: log})
	if err != nil {
		return nil, err
	}
	r := &replicas{bus: bus, link: events.NewLink(bus, topicEvents), here: newPresence(id, bus)}
	r.link.SendEphemeralWhen(r.here.wantsEvents)
	r.tap = &tapForward{local: local, bus: bus, log: log, wanted: r.here.wantsSockets}
	bus.Handle(topicEvents, r.link.Receive)
	bus.OnResync(r.link.Resync)
	bus.Handle(topicPresence, r.here.receive)
	bus.Handle(topicTap, r.tap.receive)
	bus.Handle(topicFleet, func(body []byte) {
		if fn := r.fleetIn.Load(); fn != nil {
			(*fn)(body)
		}
	})
	return r, nil
}

// start listens; every message sent by another replica after it returns
// is heard.
func (r *replicas) start(ctx context.Context) error {
	if err := r.bus.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("replicas: %w", err)
	}
	r.here.start(ctx)
	return nil
}

// watch tells the others, from now on, whether this replica has job
// streams (hub) or ComfyUI sockets (sockets). A nil r is fine.
func (r *replicas) watch(hub *events.Hub, sockets func() int) {
	if r == nil {
		return
	}
	r.here.watch(func() wants { return wants{events: hub.Watchers() > 0, sockets: sockets() > 0} })
}

// stop sends what is queued and stops listening. A nil r is fine.
func (r *replicas) stop(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.here.stop()
	return r.bus.Stop(ctx)
}

// fleetPeers sends the fleet's signals to the other replicas.
func (r *replicas) fleetPeers() fleet.Peers { return fleetPeers{r.bus} }

// hearFleet hands the other replicas' fleet signals to f from now on. A
// nil r is fine.
func (r *replicas) hearFleet(f *fleet.Fleet) {
	if r == nil {
		return
	}
	fn := func(body []byte) {
		if len(body) > 0 {
			f.Signal(fleet.Signal{Kind: fleet.SignalKind(body[0]), ID: string(body[1:])})
		}
	}
	r.fleetIn.Store(&fn)
}

// fleetPeers is fleet.Peers over the bus: a signal is its kind's byte and
// the id it is about. None is droppable: each saves someone a wait.
type fleetPeers struct{ bus *postgres.Bus }

func (p fleetPeers) Send(s fleet.Signal) {
	p.bus.Send(topicFleet, append([]byte{byte(s.Kind)}, s.ID...), false)
}

// metrics exports the bus's and the link's counters.
func (r *replicas) metrics(reg prometheus.Registerer) error {
	counter := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "comfygate", Subsystem: "replicas",
			Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	bs := func(f func(postgres.BusStats) uint64) func() uint64 { return func() uint64 { return f(r.bus.Stats()) } }
	ls := func(f func(events.LinkStats) uint64) func() uint64 { return func() uint64 { return f(r.link.Stats()) } }
	cs := []prometheus.Collector{
		counter("messages_sent_total", "Messages sent to the other replicas.", bs(func(s postgres.BusStats) uint64 { return s.Sent })),
		counter("messages_received_total", "Messages received from the other replicas.", bs(func(s postgres.BusStats) uint64 { return s.Received })),
		counter("notifies_total", "NOTIFY statements sent (each carries one or more messages).", bs(func(s postgres.BusStats) uint64 { return s.Notifies })),
		counter("notify_bytes_total", "NOTIFY payload bytes sent.", bs(func(s postgres.BusStats) uint64 { return s.Bytes })),
		counter("spilled_total", "Messages too large for a NOTIFY, sent through the bus_payloads table.", bs(func(s postgres.BusStats) uint64 { return s.Spilled })),
		counter("spilled_bytes_total", "Bytes sent through the bus_payloads table.", bs(func(s postgres.BusStats) uint64 { return s.SpillBytes })),
		counter("messages_dropped_total", "Messages not sent: the queue was full, or sending failed.", bs(func(s postgres.BusStats) uint64 { return s.Dropped })),
		counter("resyncs_total", "Times this replica may have missed messages and resynchronised from the tables.", bs(func(s postgres.BusStats) uint64 { return s.Resyncs })),
		counter("events_forwarded_total", "Job events sent to the other replicas.", ls(func(s events.LinkStats) uint64 { return s.Forwarded })),
		counter("events_received_total", "Job events received from the other replicas.", ls(func(s events.LinkStats) uint64 { return s.Received })),
		counter("events_unwanted_total", "Progress and previews not sent: no other replica had a stream to watch them.", ls(func(s events.LinkStats) uint64 { return s.Skipped })),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("replica metrics: %w", err)
		}
	}
	return nil
}

// tapForward is the fleet's Tap on a replica: the backends' messages go to
// this replica's ComfyUI-compatible surface and to every other replica's,
// whose sockets may be the ones waiting for them.
type tapForward struct {
	local fleet.Tap
	bus   *postgres.Bus
	log   *slog.Logger
	// wanted says whether another replica has ComfyUI sockets: progress
	// and previews go only then; what decides an outcome always goes
	// (essentialTap).
	wanted func() bool
}

var _ fleet.Tap = (*tapForward)(nil)

// Message implements fleet.Tap.
func (t *tapForward) Message(jobID string, ev comfy.Event) {
	t.local.Message(jobID, ev)
	essential := essentialTap(ev)
	if !essential && !t.wanted() {
		return
	}
	f, err := comfy.EncodeFrame(ev)
	if err != nil {
		return // the local surface had it; nothing else can be done with it
	}
	t.bus.Send(topicTap, appendTap(nil, jobID, f), !essential)
}

// receive hands a message another replica tapped to the local surface.
func (t *tapForward) receive(body []byte) {
	jobID, f, err := readTap(body)
	if err == nil {
		var ev comfy.Event
		if ev, err = comfy.DecodeFrame(f); err == nil {
			t.local.Message(jobID, ev)
			return
		}
	}
	t.log.Warn("replicas: unreadable backend message from another replica", "err", err)
}

// essentialTap: the messages that decide what a ComfyUI client sees of a
// run (its start, cached nodes, outputs and end) go to every replica, so
// that a socket there gets them even if it connected a moment ago; the
// rest (each node starting, progress, previews, custom nodes' messages)
// only while another replica has sockets, and may be dropped on the way,
// as the relay itself drops them when it lags.
func essentialTap(ev comfy.Event) bool {
	switch e := ev.(type) {
	case comfy.ExecutionStart, comfy.ExecutionCached, comfy.Executed,
		comfy.ExecutionSuccess, comfy.ExecutionError, comfy.ExecutionInterrupted:
		return true
	case comfy.Executing:
		return e.Done()
	}
	return false
}

// appendTap encodes a tapped message: the job id, whether the frame is
// binary, and the frame.
func appendTap(b []byte, jobID string, f comfy.Frame) []byte {
	b = binary.AppendUvarint(b, uint64(len(jobID)))
	b = append(b, jobID...)
	kind := byte(0)
	if f.Binary {
		kind = 1
	}
	return append(append(b, kind), f.Data...)
}

var errTap = errors.New("malformed tapped message")

func readTap(b []byte) (string, comfy.Frame, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n >= uint64(len(b)-k) {
		return "", comfy.Frame{}, errTap
	}
	jobID := string(b[k : k+int(n)])
	rest := b[k+int(n):]
	if rest[0] > 1 {
		return "", comfy.Frame{}, errTap
	}
	return jobID, comfy.Frame{Binary: rest[0] == 1, Data: rest[1:]}, nil
}
