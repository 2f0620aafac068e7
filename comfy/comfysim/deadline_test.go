package comfysim_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// rawConn opens a TCP connection to the simulator; every read of the test
// is bounded by waitTimeout.
func rawConn(t *testing.T, s *comfysim.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	return c
}

// readAll reads what the server sends until it closes the connection.
func readAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	data, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open (got %q)", data)
	}
	return data
}

// A client that stops in the middle of its headers or its body, or
// trickles its body slower than MinBodyRate, is cut off without an answer.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{ReadTimeout: 300 * time.Millisecond, MinBodyRate: 4 << 10})
	const body = `{"prompt": {}}`
	tests := []struct {
		name string
		send func(c net.Conn)
	}{
		{"headers stop", func(c net.Conn) {
			_, _ = io.WriteString(c, "GET /prompt HTTP/1.1\r\nHost: x\r\n")
		}},
		{"body stops", func(c net.Conn) {
			_, _ = io.WriteString(c, "POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"+body)
		}},
		{"chunked body stops", func(c net.Conn) {
			_, _ = io.WriteString(c, "POST /upload/image HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"+
				"Content-Type: multipart/form-data; boundary=b\r\n\r\n5\r\n--b\r\n\r\n")
		}},
		{"body trickles", func(c net.Conn) {
			// Each byte comes well within ReadTimeout, but 100 bytes a
			// second is far below MinBodyRate.
			_, _ = io.WriteString(c, "POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				if _, err := c.Write([]byte(" ")); err != nil {
					return // cut off
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := rawConn(t, s)
			go tt.send(c)
			if got := readAll(t, c); len(got) != 0 {
				t.Errorf("a cut-off client got an answer: %q", got)
			}
		})
	}
	// The server is fine afterwards.
	diff(t, "GET /prompt", http.StatusOK, get(t, s, "/prompt").status)
}

// A body that keeps coming at a fair rate may take longer than
// ReadTimeout in all.
func TestSteadyBodyOutlastsReadTimeout(t *testing.T) {
	t.Parallel()
	// ReadTimeout leaves a loaded machine room to run the sender late.
	s := start(t, comfysim.Options{ReadTimeout: time.Second, MinBodyRate: 1 << 10})
	// A valid prompt padded with whitespace, sent 4 KiB at a time for
	// about two seconds: never a long pause, always faster than 1 KiB/s.
	prompt := []byte(`{"prompt": {"1": {"class_type": "PrimitiveString", "inputs": {"value": "x"}}, "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}}`)
	padded := append(bytes.Repeat([]byte(" "), 160<<10), prompt...)
	c := rawConn(t, s)
	go func() {
		_, _ = io.WriteString(c, "POST /prompt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "+strconv.Itoa(len(padded))+"\r\n\r\n")
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for rest := padded; len(rest) > 0; <-tick.C {
			n := min(4<<10, len(rest))
			if _, err := c.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	got := readAll(t, c)
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK")) {
		t.Errorf("answer %q", got)
	}
}
