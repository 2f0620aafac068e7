package fleet

import (
	"context"

	"github.com/comfygate/comfygate/comfy"
)

// msgCheck asks a run to reconcile with the backend's /queue and /history:
// events may have been lost (socket reconnected, stall, poll).
type msgCheck struct{ reason string }

// msgBackendDown tells a run its backend was marked down.
type msgBackendDown struct{}

// socketLoop reads the backend's one WebSocket (kept open and redialled by a
// comfy.Watcher) and routes each event to the run it belongs to. It does no
// I/O of its own, so it keeps up with ComfyUI, which stalls all its sockets
// when one reader lags.
func (f *Fleet) socketLoop(ctx context.Context, b *Backend) {
	w, err := comfy.StartWatcher(ctx, comfy.WatcherConfig{
		BaseURL:  b.cfg.URL,
		ClientID: b.clientID,
		Dial: comfy.DialOptions{
			FeatureFlags: comfy.FeatureFlags{comfy.FlagSupportsPreviewMetadata: true},
			HTTPClient:   f.cfg.HTTPClient,
			Header:       b.cfg.Headers,
		},
		MinBackoff: f.cfg.ReconnectBackoff,
		MaxBackoff: max(f.cfg.ReconnectBackoff, f.cfg.ProbeInterval),
		Logger:     f.log.With("backend", b.ID()),
	})
	if err != nil {
		f.log.Error("fleet: cannot watch backend socket", "backend", b.ID(), "err", err)
		return
	}
	defer w.Close()
	for ev := range w.Events() {
		f.route(b, ev)
	}
}

// route hands ev to its run. Events name their prompt, except type-1 and
// type-3 frames and the reconnect "executing", which belong to the prompt
// running now.
func (f *Fleet) route(b *Backend, ev comfy.Event) {
	if f.testDrop != nil && f.testDrop(b, ev) {
		return
	}
	if executionFrame(ev) {
		b.workedAt.Store(f.clock.Now().UnixNano())
		if b.stalled.Load() {
			f.unstall(b, "execution frames on its socket")
		}
	}
	switch e := ev.(type) {
	case comfy.ConnectionEvent:
		f.onConnection(b, e)
	case comfy.ExecutionStart:
		b.setCurrent(e.PromptID)
		f.deliver(b, e.PromptID, ev, false)
	case comfy.Executing, comfy.ExecutionCached, comfy.Executed,
		comfy.ExecutionSuccess, comfy.ExecutionError, comfy.ExecutionInterrupted:
		f.deliver(b, comfy.PromptIDOf(ev), ev, false)
	case comfy.Progress, comfy.ProgressState, comfy.PreviewImageWithMetadata:
		f.deliver(b, comfy.PromptIDOf(ev), ev, true)
	case comfy.PreviewImage:
		if !b.previewMeta.Load() { // an old server: ours come as type 1
			f.deliver(b, "", ev, true)
		}
	case comfy.FeatureFlags:
		b.previewMeta.Store(e.Bool(comfy.FlagSupportsPreviewMetadata))
	case comfy.UnknownEvent:
		f.tapLoose(b, promptIDIn(e.Data), ev)
	case comfy.ProgressText, comfy.UnknownBinary:
		f.tapLoose(b, "", ev)
	}
}

// deliver pushes ev to the run of promptID ("" = the running prompt).
func (f *Fleet) deliver(b *Backend, promptID string, ev comfy.Event, droppable bool) {
	r := b.runFor(promptID)
	if r == nil {
		return // not ours: another client's prompt, or a run already over
	}
	now := f.clock.Now()
	r.touch(now)
	r.heard.Store(now.UnixNano())
	f.cfg.Tap.Message(r.jobID, ev) // before the run can finish the job
	r.mbox.Push(ev, droppable)
}

// onConnection tracks the socket. While it is down the backend takes no new
// jobs and its runs poll; once it is back every run reconciles, because
// ComfyUI dropped whatever it sent meanwhile.
func (f *Fleet) onConnection(b *Backend, e comfy.ConnectionEvent) {
	now := f.clock.Now()
	if e.State == comfy.StateConnected {
		if e.SID != b.clientID {
			f.log.Warn("fleet: backend assigned another client id", "backend", b.ID(), "want", b.clientID, "got", e.SID)
		}
		b.socketDownAt.Store(0)
		b.previewMeta.Store(false) // until the server answers the negotiation
		b.socketGen.Add(1)
		b.socketUp.Store(true)
		b.catalogStale.Store(true) // a reconnect may mean a restart with other nodes
		b.requestProbe()
		for _, r := range b.allRuns() {
			r.heard.Store(now.UnixNano()) // what was said meanwhile is lost: a fresh stall window
			r.mbox.Push(msgCheck{reason: "socket reconnected"}, false)
		}
		return
	}
	wasUp := b.socketUp.Swap(false)
	b.socketDownAt.CompareAndSwap(0, now.UnixNano())
	if wasUp {
		b.chargeDeath() // in case this is a death (crash.go)
		f.log.Warn("fleet: backend socket down", "backend", b.ID(), "err", e.Err)
		f.markDegraded(b, "socket down", nil)
	}
}
