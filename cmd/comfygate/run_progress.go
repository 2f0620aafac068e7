package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/comfygate/comfygate/api"
)

// progressView shows a job's events to the person waiting for it.
type progressView interface {
	event(ev api.Event)
	// done ends the view; later output goes below it.
	done()
}

// newProgressView picks how run shows progress: nothing with
// --no-progress, a live bar when stderr is a terminal, and otherwise one
// plain line per event (CI logs, pipes), which never redraws.
func newProgressView(stderr io.Writer, quiet bool, start time.Time) progressView {
	switch {
	case quiet:
		return quietView{}
	case isTerminal(stderr):
		return newBarView(stderr, barThrottle)
	default:
		return &lineView{w: stderr, start: start}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

type quietView struct{}

func (quietView) event(api.Event) {}
func (quietView) done()           {}

// lineView writes one line per event that says something new, prefixed
// with the time since the job was created (server clock: the events'
// own stamps, so a slow reader does not skew them).
type lineView struct {
	w     io.Writer
	start time.Time
	last  string // the last line, so repeats (same position, same step) are dropped
}

func (v *lineView) event(ev api.Event) {
	line := printable(describeEvent(ev))
	if line == "" || line == v.last {
		return
	}
	v.last = line
	fmt.Fprintf(v.w, "[%6.1fs] %s\n", ev.Time.Sub(v.start).Seconds(), line)
}

func (v *lineView) done() {}

// barView is a live progress bar. schollz/progressbar because it redraws
// synchronously on each update (no render goroutine to own and stop, unlike
// mpb), writes to any io.Writer, and handles terminal width and throttling.
type barView struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

const (
	// barMax is the bar's scale: the job's overall fraction in thousandths.
	barMax = 1000
	// barThrottle bounds redraws: sampler steps can come faster than a
	// terminal is worth redrawing.
	barThrottle = 50 * time.Millisecond
)

func newBarView(w io.Writer, throttle time.Duration) *barView {
	bar := progressbar.NewOptions(barMax,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription("submitted"),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetRenderBlankState(true),
	)
	return &barView{w: w, bar: bar}
}

func (v *barView) event(ev api.Event) {
	desc := printable(describeEvent(ev))
	switch ev.Type {
	case api.EventPreview, api.EventOutput:
		return
	case api.EventRetrying:
		v.above(desc) // worth keeping on screen
	case api.EventProgress:
		if p, ok := eventData[api.Progress](ev); ok {
			v.bar.Describe(printable(stepText(p))) // the bar shows the percentage
			_ = v.bar.Set(int(min(max(p.Fraction, 0), 1) * barMax))
			return
		}
	}
	if api.TerminalEvent(ev.Type) {
		if ev.Type == api.EventSucceeded {
			_ = v.bar.Set(barMax)
		}
		v.done()
		fmt.Fprintln(v.w, desc)
		return
	}
	v.bar.Describe(desc)
}

// above prints a line where the bar was; the bar redraws below it.
func (v *barView) above(line string) {
	_ = v.bar.Clear()
	fmt.Fprintln(v.w, line)
}

func (v *barView) done() {
	if !v.bar.IsFinished() {
		_ = v.bar.Finish()
	}
}

// describeEvent says what an event means, in a few words; "" for events
// not worth a line (previews).
func describeEvent(ev api.Event) string {
	switch ev.Type {
	case api.EventQueued, api.EventPosition:
		d, _ := eventData[api.EventQueuedData](ev)
		return fmt.Sprintf("queued, %d ahead", d.Position)
	case api.EventDispatched:
		d, _ := eventData[api.EventDispatchedData](ev)
		return fmt.Sprintf("dispatched to %s (attempt %d)", d.Backend, d.Attempt)
	case api.EventStarted:
		d, _ := eventData[api.EventDispatchedData](ev)
		return "started on " + d.Backend
	case api.EventNode:
		return describeNode(ev)
	case api.EventProgress:
		p, _ := eventData[api.Progress](ev)
		return describeProgress(p)
	case api.EventOutput:
		o, _ := eventData[api.Output](ev)
		return fmt.Sprintf("output of node %s: %s %s", o.NodeID, o.Kind, orDash(o.Filename))
	case api.EventRetrying:
		d, _ := eventData[api.EventRetryingData](ev)
		return fmt.Sprintf("retrying (attempt %d): %s", d.Attempt, d.Reason)
	case api.EventSucceeded, api.EventCancelled:
		return ev.Type
	case api.EventFailed:
		j, _ := eventData[api.Job](ev)
		return "failed: " + describeJobError(j.Error)
	}
	return ""
}

func describeNode(ev api.Event) string {
	d, _ := eventData[api.EventNodeData](ev)
	s := "node " + nodeName(d.Node, d.NodeType)
	if d.Cached {
		s += " cached"
	}
	return s
}

func describeProgress(p api.Progress) string {
	return strings.TrimRight(fmt.Sprintf("%3.0f%% %s", p.Fraction*100, stepText(p)), " ")
}

// stepText says where a running job is: node, step, nodes done.
func stepText(p api.Progress) string {
	var parts []string
	if p.Node != "" {
		s := "node " + nodeName(p.Node, p.NodeType)
		if p.Max > 0 {
			s += fmt.Sprintf(" step %g/%g", p.Value, p.Max)
		}
		parts = append(parts, s)
	}
	if p.NodesTotal > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d nodes done", p.NodesDone, p.NodesTotal))
	}
	return strings.Join(parts, ", ")
}

func nodeName(id, class string) string {
	if class == "" {
		return id
	}
	return id + " (" + class + ")"
}

// describeJobError renders type, node and message of a failed job.
func describeJobError(e *api.JobError) string {
	if e == nil {
		return "no error detail"
	}
	s := e.Type
	if e.NodeID != "" {
		s += " in node " + nodeName(e.NodeID, e.NodeType)
	}
	return s + ": " + e.Message
}

// eventData decodes an event's payload; ok is false when it does not fit.
func eventData[T any](ev api.Event) (T, bool) {
	var v T
	err := json.Unmarshal(ev.Data, &v)
	return v, err == nil
}
