package events

import (
	"container/list"
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a Subscription ends with (see Subscription.Err) or Subscribe returns.
var (
	// ErrSlowSubscriber: the subscriber's buffer was full, so the hub dropped
	// it rather than wait. Resubscribe after the last ID received.
	ErrSlowSubscriber = errors.New("events: subscriber too slow, dropped")
	// ErrGap: the hub saw a durable event out of sequence (events were lost
	// on their way to this replica) and has no Replayer to fill the gap
	// from (with one, subscriptions heal by themselves); or, for a stream
	// of many jobs, events from other replicas may have been lost (see
	// Resync). Resubscribe after the last ID received.
	ErrGap = errors.New("events: gap in durable events, resubscribe")
	// ErrHubClosed: the hub is shutting down.
	ErrHubClosed = errors.New("events: hub closed")
	// ErrReplayUnavailable: the requested resume point is older than the
	// in-memory ring and no Replayer is configured.
	ErrReplayUnavailable = errors.New("events: resume point too old to replay")
)

// Replayer reads a job's durable events back from the store, for resumes
// older than what the hub still holds in memory. It returns at most limit
// events with Seq > afterSeq in ascending Seq order.
type Replayer interface {
	ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error)
}

// Options configure a Hub. Zero values take the documented defaults.
type Options struct {
	// RingSize is how many recent events the hub keeps per job for resumes.
	// Default 256.
	RingSize int
	// RingBytes bounds the Data bytes kept per job (previews can be large);
	// the oldest events go first. Default 256 KiB.
	RingBytes int
	// MaxJobs bounds how many jobs keep a ring; the least recently active job
	// without subscribers is evicted first. Default 1024.
	MaxJobs int
	// FinishedTTL is how long a finished job's ring outlives its terminal
	// event (late viewers get it from memory). Default 5 minutes.
	FinishedTTL time.Duration
	// SubscriberBuffer is each subscription's channel capacity; a subscriber
	// that falls this far behind is dropped with ErrSlowSubscriber.
	// Default 64.
	SubscriberBuffer int
	// ReplayPageSize is the limit passed to Replayer.ListEvents. Default 256.
	ReplayPageSize int
	// Replayer serves resumes the ring no longer covers. Default nil: such
	// resumes fail with ErrReplayUnavailable.
	Replayer Replayer
	// IsTerminal reports whether e ends its job; a per-job subscription
	// closes (Err() == nil) right after delivering it. Default: a durable
	// event of type "succeeded", "failed" or "cancelled".
	IsTerminal func(e Event) bool
	// Logger receives dropped and out-of-order events. Default: discard.
	Logger *slog.Logger
	// Clock stamps ephemeral events without a Time and ages finished rings.
	// Default time.Now.
	Clock func() time.Time
	// Forward receives every event published here, after it was accepted,
	// to send it to the other replicas (see Link); events that came from
	// them (Deliver) are not forwarded again. Default nil: a single
	// process, at no cost.
	Forward Forwarder
}

func (o Options) withDefaults() Options {
	setDefault(&o.RingSize, 256)
	setDefault(&o.RingBytes, 256<<10)
	setDefault(&o.MaxJobs, 1024)
	setDefault(&o.SubscriberBuffer, 64)
	setDefault(&o.ReplayPageSize, 256)
	if o.FinishedTTL <= 0 {
		o.FinishedTTL = 5 * time.Minute
	}
	if o.IsTerminal == nil {
		o.IsTerminal = defaultIsTerminal
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

func defaultIsTerminal(e Event) bool {
	if !e.Durable() {
		return false
	}
	switch e.Type {
	case "succeeded", "failed", "cancelled":
		return true
	}
	return false
}

// numShards spreads jobs over independent locks so publishes for different
// jobs do not contend.
const numShards = 64

// Hub fans job events out to subscribers. It is safe for concurrent use and
// starts no goroutines of its own except one per subscription that is
// replaying history; Close stops and waits for them.
type Hub struct {
	opts        Options
	seed        maphash.Seed
	shardMaxJob int
	maxPending  int
	shards      [numShards]shard
	streams     streams
	replays     sync.WaitGroup
	closed      atomic.Bool
	dropped     atomic.Uint64
	// watchers counts per-job subscriptions and owner streams: the
	// subscribers progress and previews are for (see Watchers).
	watchers atomic.Int64
}

// shard holds the state of the jobs whose IDs hash to it.
type shard struct {
	mu     sync.Mutex // guards the fields below and the jobState/Subscription fields they reach
	jobs   map[string]*jobState
	lru    list.List // of *jobState, most recently active first
	closed bool
}

// NewHub returns a hub ready for use.
func NewHub(opts Options) *Hub {
	h := &Hub{opts: opts.withDefaults(), seed: maphash.MakeSeed()}
	h.shardMaxJob = max(1, (h.opts.MaxJobs+numShards-1)/numShards)
	h.maxPending = max(h.opts.RingSize, h.opts.SubscriberBuffer)
	for i := range h.shards {
		h.shards[i].jobs = make(map[string]*jobState)
	}
	h.streams.byOwner = make(map[string][]*Subscription)
	return h
}

func (h *Hub) shard(jobID string) *shard {
	return &h.shards[maphash.String(h.seed, jobID)%numShards]
}

// Publish hands e to the job's ring and to every subscriber without
// blocking.
//
// A durable event (Sub == 0, Seq ≥ 1) must be published after it is stored,
// and a job's durable events in Seq order. Any other event is ephemeral: the
// hub renumbers its Sub, and its Seq becomes the job's last durable Seq seen
// here. A caller that knows a larger one (the last Seq stored, say on a hub
// that restarted) passes it as Seq with Sub set to 1, so that progress sorts
// after the events clients already have.
func (h *Hub) Publish(e Event) { h.publish(e, h.opts.Forward) }

// Deliver publishes an event that another replica published (see Link),
// marked Relayed: it is not forwarded again, and an ephemeral one is dropped unless a
// subscriber here may want it, since no resume ever asks for it later.
// Durable events may arrive out of order (they come from the replicas
// that produced them, over separate connections): one that arrives after
// a gap heals the job's subscriptions from the store.
func (h *Hub) Deliver(e Event) {
	e.Relayed = true
	if !e.Durable() && !h.wanted(e) {
		return
	}
	h.publish(e, nil)
}

// wanted reports whether an ephemeral event has a subscriber here.
func (h *Hub) wanted(e Event) bool {
	sh := h.shard(e.JobID)
	sh.mu.Lock()
	st := sh.jobs[e.JobID]
	watched := st != nil && len(st.subs) > 0
	sh.mu.Unlock()
	return watched || h.streams.wants(e)
}

func (h *Hub) publish(e Event, fwd Forwarder) {
	if e.JobID == "" || e.Seq < 0 || e.Sub < 0 {
		h.opts.Logger.Warn("events: dropping malformed event", "job", e.JobID, "id", e.ID().String(), "type", e.Type)
		return
	}
	now := h.opts.Clock()
	if e.Time.IsZero() {
		e.Time = now
	}
	sh := h.shard(e.JobID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return
	}
	st := sh.state(e.JobID)
	e, v := st.accept(e)
	switch v {
	case verdictDrop:
		h.opts.Logger.Debug("events: dropping duplicate durable event", "job", e.JobID, "seq", e.Seq, "last", st.lastDurable)
		return
	case verdictGap:
		h.opts.Logger.Debug("events: gap in durable events", "job", e.JobID, "seq", e.Seq)
		h.healLocked(sh, st)
	}
	if fwd != nil {
		fwd.Forward(e) // under the lock: each job's events leave in order
	}
	st.push(e, h.opts.RingSize, h.opts.RingBytes)
	terminal := h.opts.IsTerminal(e)
	if terminal {
		st.finish(e.ID(), now)
	}
	h.fanOutLocked(sh, st, e, terminal)
	h.streams.publish(h, e)
	sh.sweep(now, h.shardMaxJob, h.opts.FinishedTTL, st)
}

// fanOutLocked delivers e to the job's subscribers. It walks backwards so a
// subscriber removed at i is replaced by one already served.
func (h *Hub) fanOutLocked(sh *shard, st *jobState, e Event, terminal bool) {
	for i := len(st.subs) - 1; i >= 0; i-- {
		s := st.subs[i]
		if !s.live {
			// The replay goroutine filters, orders and ends on a terminal.
			s.pending = append(s.pending, e)
			if len(s.pending) > h.maxPending {
				h.dropped.Add(1)
				h.closeJobSubLocked(sh, s, ErrSlowSubscriber)
			}
			continue
		}
		if !s.after.Less(e.ID()) { // the client has it (resumed ahead of this hub)
			if terminal {
				h.closeJobSubLocked(sh, s, nil)
			}
			continue
		}
		select {
		case s.c <- e:
			s.after = e.ID()
			if terminal {
				h.closeJobSubLocked(sh, s, nil)
			}
		default:
			h.dropped.Add(1)
			h.closeJobSubLocked(sh, s, ErrSlowSubscriber)
		}
	}
}

// Close ends every subscription with ErrHubClosed and waits for replaying
// subscriptions to stop. Publish and Subscribe do nothing after Close.
func (h *Hub) Close() {
	if h.closed.Swap(true) {
		h.replays.Wait()
		return
	}
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		sh.closed = true
		for _, st := range sh.jobs {
			for len(st.subs) > 0 {
				h.closeJobSubLocked(sh, st.subs[len(st.subs)-1], ErrHubClosed)
			}
		}
		sh.mu.Unlock()
	}
	h.streams.closeAll(h)
	h.replays.Wait()
}

// Watchers counts the subscriptions that take a job's progress and
// previews: per-job subscriptions and streams of an owner's jobs (not
// SubscribeFunc streams). A replica whose hub has none needs no
// ephemeral event from the others.
func (h *Hub) Watchers() int { return int(h.watchers.Load()) }

// Stats is a point-in-time view of the hub, for metrics and tests.
type Stats struct {
	Jobs        int    // jobs with a ring or a subscriber
	Subscribers int    // open per-job subscriptions and owner/filter streams
	Dropped     uint64 // subscribers dropped for being slow, since NewHub
}

// Stats counts jobs and subscribers; it takes every shard lock in turn.
func (h *Hub) Stats() Stats {
	s := Stats{Dropped: h.dropped.Load()}
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		s.Jobs += len(sh.jobs)
		for _, st := range sh.jobs {
			s.Subscribers += len(st.subs)
		}
		sh.mu.Unlock()
	}
	s.Subscribers += h.streams.count()
	return s
}
