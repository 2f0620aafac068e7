package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// Bounds of the job.progress sender: the jobs it follows at once, and the
// messages it has in flight (progress never takes the outbox's slots).
const (
	maxProgressJobs  = 4096
	progressInFlight = 4
	// progressForget drops a job that has shown no progress for this long.
	progressForget = 10 * time.Minute
)

// progressSender sends job.progress: the latest progress of each job whose
// webhook wants it, at most once per ProgressInterval, once, from the hub.
type progressSender struct {
	w      *Worker
	cancel context.CancelFunc // ends the hub subscription, at Stop
	kick   chan struct{}      // cap 1: new progress to look at
	slots  chan struct{}      // a token per message in flight

	mu   sync.Mutex // guards jobs
	jobs map[string]*progressJob
}

// progressJob is what the sender knows of one running job.
type progressJob struct {
	wants    int8          // 0 not known yet, 1 yes, -1 no
	seen     time.Time     // the last progress noted
	latest   *events.Event // progress not sent yet; older ones were replaced
	sending  bool
	lastSent time.Time
}

func newProgressSender(w *Worker) *progressSender {
	return &progressSender{w: w, kick: make(chan struct{}, 1), slots: make(chan struct{}, progressInFlight),
		jobs: map[string]*progressJob{}}
}

// wanted is the hub filter: progress, and the ends that close a job's entry.
// Progress relayed from another replica is not wanted: the replica that
// runs the job sends its job.progress, and with several replicas each
// would send it again. (Rejecting it here also keeps a hub from holding
// relayed progress that nobody else watches.)
func wanted(e events.Event) bool {
	return e.Type == job.EventProgress && !e.Relayed || (e.Durable() && job.TerminalEvent(e.Type))
}

func (p *progressSender) start(ctx context.Context) error {
	ctx, p.cancel = context.WithCancel(ctx)
	sub, err := p.w.cfg.Hub.SubscribeFunc(ctx, wanted)
	if err != nil {
		p.cancel()
		return err
	}
	p.w.loops.Add(2)
	go p.read(ctx, sub)
	go p.flush(ctx)
	return nil
}

// read notes each event; a subscription the hub dropped (too slow) is
// replaced, losing only progress, which is allowed to be lost.
func (p *progressSender) read(ctx context.Context, sub *events.Subscription) {
	defer p.w.loops.Done()
	for {
		for e := range sub.C() {
			p.note(e)
		}
		if p.w.stopping() || ctx.Err() != nil || errors.Is(sub.Err(), events.ErrHubClosed) {
			return
		}
		var err error
		if sub, err = p.w.cfg.Hub.SubscribeFunc(ctx, wanted); err != nil {
			return
		}
	}
}

func (p *progressSender) note(e events.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Type != job.EventProgress {
		delete(p.jobs, e.JobID)
		return
	}
	pj := p.jobs[e.JobID]
	if pj == nil {
		if len(p.jobs) >= maxProgressJobs {
			p.w.metrics.progress.WithLabelValues("dropped").Inc()
			return
		}
		pj = &progressJob{}
		p.jobs[e.JobID] = pj
	}
	if pj.wants < 0 {
		return
	}
	pj.latest, pj.seen = &e, p.w.cfg.Clock.Now()
	signal(p.kick)
}

// flush starts the sends that are due, then sleeps until new progress or
// the next job's interval is over.
func (p *progressSender) flush(ctx context.Context) {
	defer p.w.loops.Done()
	for {
		wait := p.startDue(ctx)
		t := p.w.cfg.Clock.NewTimer(wait)
		select {
		case <-p.w.stop:
			t.Stop()
			return
		case <-p.kick:
		case <-t.C():
		}
		t.Stop()
	}
}

// startDue starts a send for every job with unsent progress whose
// interval is over, while slots last, and returns how long until the next.
func (p *progressSender) startDue(ctx context.Context) time.Duration {
	now := p.w.cfg.Clock.Now()
	wait := p.w.cfg.ProgressInterval
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pj := range p.jobs {
		if !pj.sending && now.Sub(pj.seen) > progressForget {
			delete(p.jobs, id) // its end went to another replica's hub
			continue
		}
		if pj.latest == nil || pj.sending {
			continue
		}
		if d := pj.lastSent.Add(p.w.cfg.ProgressInterval).Sub(now); !pj.lastSent.IsZero() && d > 0 {
			wait = min(wait, d)
			continue
		}
		select {
		case p.slots <- struct{}{}:
		default:
			return wait // all slots busy; a finished send kicks
		}
		e := *pj.latest
		// The interval counts from the start of a send, so a slow
		// receiver does not stretch it.
		pj.latest, pj.sending, pj.lastSent = nil, true, now
		p.w.sends.Add(1)
		go p.send(ctx, id, pj, e)
	}
	return wait
}

// send delivers one job.progress, once.
func (p *progressSender) send(ctx context.Context, id string, pj *progressJob, e events.Event) {
	defer p.w.sends.Done()
	p.sendOnce(ctx, pj, e)
	<-p.slots
	p.mu.Lock()
	pj.sending = false
	p.mu.Unlock()
	signal(p.kick)
}

func (p *progressSender) sendOnce(ctx context.Context, pj *progressJob, e events.Event) {
	j, err := p.w.cfg.Jobs.GetJob(ctx, e.JobID)
	if err != nil {
		return
	}
	p.mu.Lock()
	if pj.wants == 0 {
		pj.wants = -1
		if j.WantsWebhook(job.EventProgress) {
			pj.wants = 1
		}
	}
	wants := pj.wants > 0
	p.mu.Unlock()
	if !wants || j.State.Terminal() {
		return
	}
	_ = json.Unmarshal(e.Data, &j.Progress) // the event's is newer than the stored one
	m := &job.WebhookMessage{ID: newMessageID(), JobID: j.ID, Owner: j.Owner, Type: job.WebhookProgress,
		URL: j.Webhook, Host: job.WebhookHost(j.Webhook), Job: j, CreatedAt: e.Time}
	out := p.w.send(ctx, m, p.w.cfg.Clock.Now())
	ok := out.status >= 200 && out.status <= 299
	p.w.metrics.progress.WithLabelValues(map[bool]string{true: "sent", false: "failed"}[ok]).Inc()
}

// newMessageID is a fresh webhook-id for a message outside the outbox.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}
