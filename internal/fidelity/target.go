package fidelity

import (
	"context"
	"testing"
	"time"
)

// Target is a server under test: something that claims to speak ComfyUI's
// HTTP and WebSocket protocol at BaseURL.
type Target struct {
	// BaseURL is the http:// root of the ComfyUI surface, without a trailing
	// slash, e.g. "http://127.0.0.1:8188". It should name a loopback host:
	// scenario 15 checks ComfyUI's loopback Host/Origin rule.
	BaseURL string
	// CounterStart is the target's prompt counter when it starts: the
	// "number" its first accepted prompt gets. 0 for ComfyUI and the
	// simulator.
	CounterStart int64
	// Control holds the hooks some scenarios need to make the target behave
	// like the captured server.
	Control Controls
}

// Controls are the knobs a scenario turns to reproduce the capture's
// conditions on a target that does no real image work.
type Controls struct {
	// SetNodeDelay makes every node of classType take at least d, on every
	// backend behind the target. The captures' ImageBlur (radius 31 on a
	// 192px image) took about 6 s, long enough for the capture tool to query
	// and modify the queue while one prompt ran and others waited; scenarios
	// 04, 08, 09 and 15 set a delay on ImageBlur to recreate that window.
	// Nil makes those scenarios fail with an explanation.
	SetNodeDelay func(ctx context.Context, classType string, d time.Duration) error
}

// NewTarget starts a fresh target for one scenario and stops it through
// tb.Cleanup. Fresh means what a freshly started ComfyUI has: empty queue,
// history, caches and input/output/temp directories, and a prompt counter at
// 0. Scenarios that depend on earlier ones (the captures ran in one server
// session) replay the prompts they need as an unrecorded setup.
type NewTarget func(tb testing.TB) Target

// Options tune a run. The zero value is usable.
type Options struct {
	// SlowDelay is the per-ImageBlur delay set through
	// Controls.SetNodeDelay. It is a margin, not an assertion: the harness
	// issues its queue requests right after the slow node starts, and they
	// must complete before the node ends for the WebSocket order to match the
	// capture. Default 1s.
	SlowDelay time.Duration
	// WaitTimeout bounds each wait for a WebSocket event the scenario needs
	// before it can go on. It is only reached when the target misbehaves.
	// Default 30s.
	WaitTimeout time.Duration
	// SettleTimeout bounds how long a socket may take to deliver as many
	// messages as the real server sent before the harness closes it. It is
	// only reached when the target sends fewer. Default 5s.
	SettleTimeout time.Duration
	// RawDir, if set, receives each scenario's raw transcript
	// (<scenario>.raw.json, the format of testdata/raw) for debugging.
	RawDir string
	// Only restricts the run to scenarios whose name starts with one of
	// these prefixes ("04", "10-invalid"). Empty runs all.
	Only []string
}

func (o Options) withDefaults() Options {
	if o.SlowDelay <= 0 {
		o.SlowDelay = time.Second
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 30 * time.Second
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 5 * time.Second
	}
	return o
}
