package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/api"
)

const (
	// maxLine bounds one SSE line (a preview image is the largest event).
	maxLine = 16 << 20
	// maxFailures is how many reconnects in a row may fail before Next
	// gives up.
	maxFailures = 8
	maxBackoff  = 5 * time.Second
)

// EventStream follows an event stream. Next returns events in order, each
// once: after a dropped connection it reconnects with Last-Event-ID and
// the server replays what was missed. It is not safe for concurrent use.
type EventStream struct {
	c             *Client
	path          string
	endOnTerminal bool

	life   context.Context // ends with Close or the ctx given to Events
	cancel context.CancelFunc
	lastID string
	body   io.ReadCloser
	rd     *bufio.Reader
	retry  time.Duration // the server's retry: hint
	fails  int
	done   bool
}

// EventsOption tunes Events.
type EventsOption func(*EventStream)

// After resumes after the event with this id (what a previous stream's
// LastEventID returned).
func After(lastEventID string) EventsOption { return func(s *EventStream) { s.lastID = lastEventID } }

// Events follows one job's events. The stream ends (Next returns io.EOF)
// after the job's terminal event. ctx bounds the stream's whole life.
// Errors the server answers at once (unknown job: *Error 404) are returned
// here.
func (c *Client) Events(ctx context.Context, jobID string, opts ...EventsOption) (*EventStream, error) {
	return c.openStream(ctx, "/v1/jobs/"+url.PathEscape(jobID)+"/events", true, opts)
}

// OwnerEvents follows the live events of all the caller's jobs; it does not
// end by itself.
func (c *Client) OwnerEvents(ctx context.Context) (*EventStream, error) {
	return c.openStream(ctx, "/v1/events", false, nil)
}

func (c *Client) openStream(ctx context.Context, path string, endOnTerminal bool, opts []EventsOption) (*EventStream, error) {
	s := &EventStream{c: c, path: path, endOnTerminal: endOnTerminal, retry: 500 * time.Millisecond}
	for _, o := range opts {
		o(s)
	}
	s.life, s.cancel = context.WithCancel(ctx)
	if err := s.connect(); err != nil {
		s.cancel()
		return nil, err
	}
	return s, nil
}

// LastEventID is the id of the last event Next returned.
func (s *EventStream) LastEventID() string { return s.lastID }

// Close ends the stream.
func (s *EventStream) Close() error {
	s.done = true
	s.cancel()
	s.drop()
	return nil
}

// Next returns the next event. It returns io.EOF after the terminal event
// of a job stream, ctx.Err() when ctx ends (the stream stays usable: the
// next call resumes), an *Error when the server refuses to resume, and the
// last connection error after repeated failures.
func (s *EventStream) Next(ctx context.Context) (api.Event, error) {
	for {
		if s.done {
			return api.Event{}, io.EOF
		}
		if s.body == nil {
			if err := s.reconnect(ctx); err != nil {
				return api.Event{}, err
			}
		}
		ev, err := s.readOne(ctx)
		if err == nil {
			s.fails = 0
			if s.endOnTerminal && api.TerminalEvent(ev.Type) {
				s.done = true
				s.drop()
			}
			return ev, nil
		}
		s.drop()
		if ctx.Err() != nil {
			return api.Event{}, ctx.Err()
		}
		if errors.Is(err, errBadEvent) {
			return api.Event{}, err
		}
		if s.fails++; s.fails >= maxFailures {
			return api.Event{}, fmt.Errorf("client: event stream %s: %d connections in a row broke: %w", s.path, s.fails, err)
		}
	}
}

// reconnect opens the stream again after a pause that grows with each
// failure in a row; the first retry after a working stream is immediate.
func (s *EventStream) reconnect(ctx context.Context) error {
	for {
		if s.fails > 1 {
			if err := pause(ctx, s.life, min(maxBackoff, s.retry<<(s.fails-2))); err != nil {
				return err
			}
		}
		err := s.connect()
		var apiErr *Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &apiErr) && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests:
			return err // the server says no; retrying will not change that
		case s.life.Err() != nil:
			return s.life.Err()
		}
		if s.fails++; s.fails >= maxFailures {
			return fmt.Errorf("client: event stream %s: %d reconnects failed: %w", s.path, s.fails, err)
		}
	}
}

func pause(ctx, life context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-life.Done():
		return life.Err()
	}
}

func (s *EventStream) connect() error {
	req, err := s.c.newRequest(s.life, "GET", s.path, nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	res, err := s.c.send(req)
	if err != nil {
		return err
	}
	s.body, s.rd = res.Body, bufio.NewReaderSize(res.Body, 64<<10)
	return nil
}

func (s *EventStream) drop() {
	if s.body != nil {
		s.body.Close()
		s.body, s.rd = nil, nil
	}
}

// readOne reads the next event of the open connection. ctx ending closes
// the connection, which unblocks the read; the next Next resumes.
func (s *EventStream) readOne(ctx context.Context) (api.Event, error) {
	body := s.body
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	for {
		f, err := s.readFrame()
		if err != nil {
			return api.Event{}, err
		}
		if f.data == nil {
			continue // a comment or a retry hint
		}
		var ev api.Event
		if err := json.Unmarshal(f.data, &ev); err != nil {
			return api.Event{}, badEvent("after %q: %v", s.lastID, err)
		}
		if f.id != "" {
			ev.ID = f.id
			s.lastID = f.id
		}
		return ev, nil
	}
}

type sseFrame struct {
	id   string
	data []byte
}

// readFrame reads up to a blank line.
func (s *EventStream) readFrame() (sseFrame, error) {
	var f sseFrame
	for {
		line, err := s.readLine()
		if err != nil {
			return f, err
		}
		if len(line) == 0 {
			if f.data != nil || f.id != "" {
				return f, nil
			}
			continue
		}
		s.field(&f, line)
	}
}

func (s *EventStream) field(f *sseFrame, line []byte) {
	name, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(name) {
	case "id":
		f.id = string(value)
	case "data":
		if f.data != nil {
			f.data = append(f.data, '\n')
		}
		f.data = append(f.data, value...)
		if f.data == nil {
			f.data = []byte{}
		}
	case "retry":
		if ms, err := strconv.Atoi(string(value)); err == nil && ms > 0 {
			s.retry = min(time.Duration(ms)*time.Millisecond, maxBackoff)
		}
	}
}

// readLine returns one line without its end, at most maxLine long.
func (s *EventStream) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := s.rd.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, badEvent("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		return line, nil
	}
}
