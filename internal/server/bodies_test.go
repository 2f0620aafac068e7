package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowBodiesAreCutOff: 300 clients that send part of a body and then
// nothing, on every surface, are answered 408 once the body deadline
// passes, while others are served; an upload that keeps flowing for
// longer than that deadline gets through; an event stream opened before
// is still open after.
func TestSlowBodiesAreCutOff(t *testing.T) {
	lim := RequestLimits{BodyTimeout: time.Second, MinBodyRate: 32 << 10}
	s := startServer(t, Config{SimBackends: 1, Examples: true, Limits: lim})
	c := client(t)
	waitReady(t, c, s)
	addr := strings.TrimPrefix(s.URL(), "http://")

	stream, err := c.Get(s.URL() + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()

	// Each sends its headers and the start of its body, then nothing.
	type slow struct {
		path, ctype string
		want        int
	}
	clients := []slow{
		{"/prompt", "application/json", http.StatusRequestTimeout},
		{"/v1/jobs", "application/json", http.StatusRequestTimeout},
		{"/api/workflow/txt2img", "application/json", http.StatusRequestTimeout},
		{"/upload/image", "multipart/form-data; boundary=b", http.StatusRequestTimeout},
		// answered without its body being read: not held by what is left
		{"/upload/image", "application/json", http.StatusBadRequest},
		{"/v1/nothing-here", "application/json", http.StatusNotFound},
	}
	const n = 300
	conns := make([]net.Conn, n)
	for i := range conns {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sc := clients[i%len(clients)]
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n--b\r\n{", sc.path, sc.ctype)
		conns[i] = conn
	}
	if code, _ := get(t, c, s.URL()+"/queue"); code != http.StatusOK {
		t.Fatalf("GET /queue while the slow clients hang: %d", code)
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Go(func() {
			_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for i, code := range codes {
		if sc := clients[i%len(clients)]; code != sc.want {
			t.Fatalf("slow client %d (%s, %s): %d, want %d", i, sc.path, sc.ctype, code, sc.want)
		}
	}

	// 96 KiB at about 48 KiB/s: longer than the body timeout in total,
	// never slower than the minimum rate.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("image", "steady.bin")
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range 96 {
			if _, err := fw.Write(bytes.Repeat([]byte{'x'}, 1024)); err != nil {
				pw.CloseWithError(err)
				return
			}
			<-tick.C
		}
		pw.CloseWithError(mw.Close())
	}()
	resp, err := c.Post(s.URL()+"/upload/image", mw.FormDataContentType(), pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a steady upload: %d %s", resp.StatusCode, body)
	}

	if code, b := post(t, c, s.URL()+"/v1/jobs", `{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64}}`); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	events := bufio.NewReader(stream.Body)
	for {
		line, err := events.ReadString('\n')
		if err != nil {
			t.Fatalf("the event stream opened before the slow clients ended: %v", err)
		}
		if strings.HasPrefix(line, "event: queued") || strings.Contains(line, `"queued"`) {
			break
		}
	}
}

// TestBrokenBodiesAre400: a body whose framing fails (a chunk size that is
// not hex, or a body cut short by the client closing its side) gets a 400
// naming the problem on every surface, not a 5xx, and not silence from a
// surface that takes a failed read for a client gone.
func TestBrokenBodiesAre400(t *testing.T) {
	s := startServer(t, Config{SimBackends: 1, Examples: true})
	c := client(t)
	waitReady(t, c, s)
	addr := strings.TrimPrefix(s.URL(), "http://")

	// A multipart body starts a file part; the JSON routes fail on
	// reading the body before they parse it.
	part := func(field string) string {
		return "--b\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"a.png\"\r\n\r\n\x89PNG"
	}
	routes := []struct{ path, ctype, start string }{
		{"/prompt", "application/json", `{"prompt": {`},
		{"/queue", "application/json", `{"delete": [`},
		{"/v1/jobs", "application/json", `{"workflow": "txt2img", `},
		{"/api/workflow/txt2img", "application/json", `{"prompt": `},
		{"/upload/image", "multipart/form-data; boundary=b", part("image")},
		{"/v1/uploads", "multipart/form-data; boundary=b", part("file")},
	}
	bodies := []struct {
		name string
		// framing gets the route's start of a body
		framing func(start string) string
		want    string
	}{
		{"bad chunk size", func(start string) string {
			return fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\nzz\r\n", len(start), start)
		}, "chunk"},
		{"cut short", func(start string) string {
			return "Content-Length: 1000\r\n\r\n" + start
		}, "EOF"},
		{"chunk cut short", func(start string) string {
			return fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s", len(start)+100, start)
		}, "EOF"},
	}
	for _, r := range routes {
		for _, b := range bodies {
			t.Run(r.path+" "+b.name, func(t *testing.T) {
				t.Parallel()
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(testTimeout))
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n%s", r.path, r.ctype, b.framing(r.start))
				if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), b.want) {
					t.Errorf("%d %q, want 400 saying %q", resp.StatusCode, body, b.want)
				}
			})
		}
	}
}
