package ui_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/comfygate/comfygate/internal/ui"
)

// TestBrowserSSEParser runs the page's own event-stream parser (the one
// used when an API key rules out EventSource) in Chromium against the
// framing cases of the HTML standard, and the exact encoding of big
// integers. Each case is a list of chunks as the network may cut them.
func TestBrowserSSEParser(t *testing.T) {
	exe := chromium(t)
	srv := httptest.NewServer(ui.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, exe)
	// The settings page asks the API nothing, so this server needs none.
	b.do(t, "open the UI", chromedp.Navigate(srv.URL+"/ui/#/settings"), chromedp.WaitVisible(chromedp.CSS(`#api-key`)))

	type event [2]string // data, last event id
	tests := []struct {
		name   string
		chunks []string
		want   []event
	}{
		{"one event", []string{"id: 1\nevent: queued\ndata: {\"a\":1}\n\n"}, []event{{`{"a":1}`, "1"}}},
		{"crlf cut between cr and lf", []string{"id: 2\r", "\ndata: x\r\n\r\n"}, []event{{"x", "2"}}},
		{"cr only", []string{"data: y\r\rdata: z\r\r"}, []event{{"y", ""}, {"z", ""}}},
		{"multi-line data", []string{"data: a\ndata: b\n\n"}, []event{{"a\nb", ""}}},
		{"comments and retry skipped", []string{": keepalive\n\n", "retry: 1000\n\n", "data: c\n\n"}, []event{{"c", ""}}},
		{"id persists", []string{"id: 5\ndata: a\n\ndata: b\n\n"}, []event{{"a", "5"}, {"b", "5"}}},
		{"no space after colon", []string{"data:x\n\n"}, []event{{"x", ""}}},
		{"cut mid-line", []string{"da", "ta: hel", "lo\n", "\n"}, []event{{"hello", ""}}},
		{"unfinished event dropped", []string{"data: lost"}, nil},
		{"id with NUL ignored", []string{"id: 7\ndata: a\n\nid: x\x00y\ndata: b\n\n"}, []event{{"a", "7"}, {"b", "7"}}},
		// Its chunks are made in the page: the cut is inside a character.
		{"utf-8 cut", nil, []event{{"é", ""}}},
	}
	cases := map[string][]string{}
	for _, tt := range tests {
		if tt.chunks != nil {
			cases[tt.name] = tt.chunks
		}
	}
	got := eval[map[string][]event](t, b, fmt.Sprintf(`(async () => {
		const src = document.querySelector('script[type=module]').src;
		const { parseSSE } = await import(new URL('sse.js', src));
		const enc = new TextEncoder(), out = {};
		for (const [name, chunks] of Object.entries(%s)) {
			const body = new ReadableStream({ start(c) { for (const ch of chunks) c.enqueue(enc.encode(ch)); c.close(); } });
			out[name] = [];
			await parseSSE(body, (data, id) => out[name].push([data, id]));
		}
		// A two-byte character cut in half by the network.
		const bytes = enc.encode('data: é\n\n');
		const split = new ReadableStream({ start(c) { c.enqueue(bytes.slice(0, 7)); c.enqueue(bytes.slice(7)); c.close(); } });
		out['utf-8 cut'] = [];
		await parseSSE(split, (data, id) => out['utf-8 cut'].push([data, id]));
		return out;
	})()`, mustJSON(t, cases)), chromedp.EvalAwaitPromise)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, got[tt.name], cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}

	seed := eval[string](t, b, `(async () => {
		const src = document.querySelector('script[type=module]').src;
		const { toJSON } = await import(new URL('api.js', src));
		return toJSON({ seed: 18446744073709551615n, steps: 20 });
	})()`, chromedp.EvalAwaitPromise)
	if want := `{"seed":18446744073709551615,"steps":20}`; seed != want {
		t.Errorf("toJSON = %s, want %s (a seed must reach the API exactly)", seed, want)
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
