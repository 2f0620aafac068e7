package comfy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// sendLines is a script that sends each line as a text frame and each []byte
// as a binary frame.
func sendFrames(frames ...Frame) func(ctx context.Context, c *websocket.Conn, sid string) {
	return func(ctx context.Context, c *websocket.Conn, sid string) {
		for _, fr := range frames {
			typ := websocket.MessageText
			if fr.Binary {
				typ = websocket.MessageBinary
			}
			if err := c.Write(ctx, typ, fr.Data); err != nil {
				return
			}
		}
	}
}

func TestConnReadsEveryEventType(t *testing.T) {
	t.Parallel()
	var frames []Frame
	var want []Event
	for _, name := range []string{"ws-02-submit-run.jsonl", "ws-14-execution-error.jsonl", "synthetic/ws-blocked-and-resync.jsonl"} {
		for _, line := range readLines(t, name) {
			ev, err := DecodeMessage(line)
			if err != nil {
				t.Fatal(err)
			}
			frames, want = append(frames, Frame{Data: line}), append(want, ev)
		}
	}
	meta := PreviewMetadata{NodeID: "3", PromptID: "p", DisplayNodeID: "3", RealNodeID: "3", ImageType: "image/png"}
	withMeta, _ := EncodePreviewWithMetadata(meta, pngMagic)
	frames = append(frames,
		Frame{Binary: true, Data: EncodePreview(FormatPNG, pngMagic)},
		Frame{Binary: true, Data: withMeta},
		Frame{Binary: true, Data: EncodeText("5", "hello")},
		Frame{Binary: true, Data: []byte{0, 0, 0, 2, 9}},
	)
	want = append(want,
		PreviewImage{Format: FormatPNG, Image: pngMagic},
		PreviewImageWithMetadata{Meta: meta, Image: pngMagic},
		ProgressText{NodeID: "5", Text: "hello"},
		UnknownBinary{Type: 2, Data: []byte{0, 0, 0, 2, 9}},
	)
	f := newFakeWS(t, sendFrames(frames...))
	conn, err := Dial(testCtx(t), f.srv.URL, "fixture-client-02", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.SID() != "fixture-client-02" || conn.Greeting().Sid == nil {
		t.Errorf("SID %q greeting %+v", conn.SID(), conn.Greeting())
	}
	for i, w := range want {
		got, err := conn.Read(testCtx(t))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Fatalf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestConnFeatureFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		oldServer bool
	}{
		{"server replies", false},
		{"old server never replies", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := Frame{Data: []byte(`{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}}}`)}
			f := newFakeWS(t, nil)
			f.noFlagsReply = tt.oldServer
			f.script = func(ctx context.Context, c *websocket.Conn, sid string) {
				// The reply (if any) goes out when the server reads the
				// flags; only then does this script send its event.
				select {
				case <-f.recvd:
				case <-ctx.Done():
					return
				}
				sendFrames(done)(ctx, c, sid)
			}
			conn, err := Dial(testCtx(t), f.srv.URL, "c", DialOptions{FeatureFlags: map[string]any{FlagSupportsPreviewMetadata: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var sawReply bool
			for range 2 - boolInt(tt.oldServer) {
				ev, err := conn.Read(testCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := ev.(FeatureFlags); ok {
					sawReply = true
				}
			}
			got := conn.ServerFeatures()
			if sawReply != !tt.oldServer || (got != nil) != !tt.oldServer {
				t.Fatalf("reply seen %v, server flags %v", sawReply, got)
			}
			if !tt.oldServer && got[FlagMaxUploadSize] != json.Number("104857600") {
				t.Errorf("server flags %v", got)
			}
			f.mu.Lock()
			first := f.received
			f.mu.Unlock()
			if len(first) == 0 || first[0].EventType() != EventFeatureFlags {
				t.Errorf("server received %v, want feature_flags first", first)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDialOptions(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, nil)
	hdr := http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer t"}}
	conn, err := Dial(testCtx(t), f.srv.URL, "", DialOptions{APIPrefix: true, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.SID() != "0123456789abcdef0123456789abcdef" {
		t.Errorf("server-assigned SID = %q", conn.SID())
	}
	f.mu.Lock()
	got := f.accepted[0].Get("Authorization")
	f.mu.Unlock()
	if got != "Bearer t" {
		t.Errorf("Authorization %q", got)
	}
	if hdr.Get("Origin") == "" {
		t.Error("Dial modified the caller's header")
	}

	prefixed, err := Dial(testCtx(t), f.srv.URL+"/prefix/", "x", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prefixed.Close()
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, nil)
	_, err := Dial(testCtx(t), f.srv.URL+"/nowhere", "x", DialOptions{})
	if err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("err = %v, want status 404", err)
	}
	for _, base := range []string{"ftp://h", "", "http://"} {
		if _, err := Dial(testCtx(t), base, "x", DialOptions{}); err == nil {
			t.Errorf("Dial(%q) succeeded", base)
		}
	}
}

func TestConnMalformedAndLimit(t *testing.T) {
	t.Parallel()
	big := make([]byte, 4096)
	big[3] = 1
	f := newFakeWS(t, sendFrames(
		Frame{Data: []byte(`{"type": "executing", "data": 5}`)},
		Frame{Binary: true, Data: []byte{0, 0, 0, 3, 0, 0, 0, 9}},
		Frame{Data: []byte(`{"type": "execution_start", "data": {"prompt_id": "p"}}`)},
		Frame{Binary: true, Data: big},
	))
	conn, err := Dial(testCtx(t), f.srv.URL, "x", DialOptions{ReadLimit: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, wantType := range []string{"executing", "binary"} {
		_, err := conn.Read(testCtx(t))
		var me *MessageError
		if !errors.As(err, &me) || me.Type != wantType {
			t.Fatalf("err = %v, want *MessageError for %s", err, wantType)
		}
	}
	if ev, err := conn.Read(testCtx(t)); err != nil || ev.(ExecutionStart).PromptID != "p" {
		t.Fatalf("after malformed frames: %v, %v", ev, err)
	}
	if _, err := conn.Read(testCtx(t)); err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("frame over the read limit: err = %v, want a connection error", err)
	}
}

// TestDialKeepsFramesBeforeGreeting: a proxy's own message before ComfyUI's
// greeting is returned by Read, not dropped.
func TestDialKeepsFramesBeforeGreeting(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, websocket.MessageText, []byte(`{"type": "proxy_hello", "data": {"v": 1}}`))
		c.Write(ctx, websocket.MessageText, []byte(`{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 2}}}}`))
		c.Read(ctx) // until the client closes
	}))
	defer srv.Close()
	conn, err := Dial(testCtx(t), srv.URL, "me", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.SID() != "me" || conn.Greeting().Status.ExecInfo.QueueRemaining != 2 {
		t.Errorf("sid %q greeting %+v", conn.SID(), conn.Greeting())
	}
	ev, err := conn.Read(testCtx(t))
	if u, ok := ev.(UnknownEvent); err != nil || !ok || u.Type != "proxy_hello" {
		t.Errorf("first Read = %#v, %v", ev, err)
	}
}
