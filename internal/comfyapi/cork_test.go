package comfyapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestCorkGathersWritesIntoOne(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	counted := &countingConn{Conn: server}
	c := &corkConn{Conn: counted}

	c.cork()
	for _, p := range []string{"first ", "second ", "third"} {
		if _, err := c.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if n := counted.writes.Load(); n != 0 {
		t.Fatalf("%d writes reached the network while corked", n)
	}
	if err := c.flush(time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := counted.writes.Load(); n != 1 {
		t.Fatalf("flush made %d writes, want 1", n)
	}
	if _, err := c.Write([]byte(" fourth")); err != nil { // uncorked: straight through
		t.Fatal(err)
	}
	if n := counted.writes.Load(); n != 2 {
		t.Fatalf("an uncorked write made %d writes in all, want 2", n)
	}
	got := make([]byte, len("first second third fourth"))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != "first second third fourth" {
		t.Fatalf("the peer read %q", got)
	}
}

func TestCorkStopCutsAStalledFlushShort(t *testing.T) {
	t.Parallel()
	server, _ := tcpPair(t) // the peer never reads
	_ = server.(*net.TCPConn).SetWriteBuffer(4 << 10)
	c := &corkConn{Conn: server}

	c.cork()
	if _, err := c.Write(bytes.Repeat([]byte("x"), 32<<20)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.flush(time.Hour) }()
	if !poll(func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.flushing }) {
		t.Fatal("the flush never started")
	}
	c.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a flush cut short reported no error")
		}
	case <-time.After(waitTimeout):
		t.Fatal("stop did not cut the stalled flush short")
	}

	c.cork()
	if _, err := c.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(time.Hour); !errors.Is(err, errStopped) {
		t.Fatalf("a flush after stop: %v, want errStopped", err)
	}
}
