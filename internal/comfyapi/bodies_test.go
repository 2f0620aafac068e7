package comfyapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/inflight"
)

// TestJSONBodyLimit: the bodies read whole are bounded by MaxPromptBytes,
// announced or not, with aiohttp's 413 naming that limit.
func TestJSONBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{cfg: func(c *Config) { c.MaxPromptBytes = 1000 }})
	big := []byte(`{"prompt": {"1": {"class_type": "X", "inputs": {"text": "` + strings.Repeat("a", 1000) + `"}}}}`)
	for _, path := range []string{"/prompt", "/api/prompt", "/queue", "/history", "/interrupt", "/free", "/api/jobs/cancel"} {
		for _, chunked := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(big)
			if chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(got), "Maximum request body size 1000 exceeded") {
				t.Errorf("%s (chunked %v): %d %s, want 413 naming the 1000 byte limit", path, chunked, resp.StatusCode, got)
			}
		}
	}
	if r := do(t, http.MethodPost, e.srv.URL+"/prompt", []byte(`{"prompt": {}}`), nil); r.status == http.StatusRequestEntityTooLarge {
		t.Errorf("a small prompt: %d", r.status)
	}
}

// TestBytesInFlightPerKey: a key whose share of body bytes is held waits
// for its own requests; other keys do not.
func TestBytesInFlightPerKey(t *testing.T) {
	lim := inflight.New(100)
	e := newEnv(t, envOptions{owner: keyOwner, cfg: func(c *Config) { c.MaxPromptBytes, c.InFlight = 100, lim }})
	send := func(key string, body io.Reader, n int64) chan int {
		done := make(chan int, 1)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/queue", body)
		req.ContentLength = n
		req.Header.Set("X-Key", key)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		return done
	}
	body := `{"delete": ["x"]}` + strings.Repeat(" ", 63) // 80 bytes
	// The first request comes over a raw connection, so that its body can
	// stop part way.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /queue HTTP/1.1\r\nHost: x\r\nX-Key: a\r\nContent-Length: 80\r\n\r\n"
	if _, err := conn.Write([]byte(head + body[:10])); err != nil {
		t.Fatal(err)
	}
	first := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	if !poll(func() bool { held, _ := lim.Stats("key-a"); return held == 80 }) {
		t.Fatal("the first body never took its bytes")
	}
	second := send("a", strings.NewReader(body), 80)
	if !poll(func() bool { _, n := lim.Stats("key-a"); return n == 2 }) {
		t.Fatal("the second request of key a never asked for its bytes")
	}
	if code := <-send("b", strings.NewReader(body), 80); code != http.StatusOK {
		t.Fatalf("key b: %d, want 200 while key a waits", code)
	}
	select {
	case code := <-second:
		t.Fatalf("key a's second request ended (%d) while its first held the share", code)
	default:
	}
	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	if a, b := <-first, <-second; a != http.StatusOK || b != http.StatusOK {
		t.Fatalf("key a: %d and %d, want 200s", a, b)
	}
	if !poll(func() bool { held, n := lim.Stats("key-a"); return held == 0 && n == 0 }) {
		t.Error("key a's bytes were not given back")
	}
}

// poll checks cond until it holds or waitTimeout passes; the pause between
// checks only saves CPU.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
