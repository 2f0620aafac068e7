package postgres

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// A NOTIFY payload is text shorter than 8000 bytes. A frame is binary,
// sent base64-encoded, so it holds at most maxFrame raw bytes; a message
// that does not fit in a frame of its own is spilled to bus_payloads and
// the frame carries the row's id instead.
const (
	maxNotify   = 7999
	maxFrame    = maxNotify / 4 * 3 // base64 of maxFrame bytes is < 8000
	frameV1     = 1
	kindInline  = 'm'
	kindSpilled = 'r'
)

// busMsg is one message of a frame: its body inline, or the id of the
// bus_payloads row holding it.
type busMsg struct {
	topic string
	body  []byte
	ref   int64 // > 0: the body is in bus_payloads
}

// frameWriter packs messages into frames of at most maxFrame bytes.
type frameWriter struct {
	origin string
	buf    []byte
	n      int // messages in buf
}

func (w *frameWriter) reset() {
	w.buf = append(w.buf[:0], frameV1)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(w.origin)))
	w.buf = append(w.buf, w.origin...)
	w.n = 0
}

// size is what m adds to a frame.
func msgSize(m busMsg) int {
	n := 1 + binary.MaxVarintLen64 + len(m.topic)
	if m.ref > 0 {
		return n + binary.MaxVarintLen64
	}
	return n + binary.MaxVarintLen64 + len(m.body)
}

// fits reports whether m can join the current frame.
func (w *frameWriter) fits(m busMsg) bool { return len(w.buf)+msgSize(m) <= maxFrame }

// headerSize is the size of an empty frame.
func (w *frameWriter) headerSize() int {
	return 1 + binary.MaxVarintLen64 + len(w.origin)
}

func (w *frameWriter) add(m busMsg) {
	kind := byte(kindInline)
	if m.ref > 0 {
		kind = kindSpilled
	}
	w.buf = append(w.buf, kind)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(m.topic)))
	w.buf = append(w.buf, m.topic...)
	if m.ref > 0 {
		w.buf = binary.AppendUvarint(w.buf, uint64(m.ref))
	} else {
		w.buf = binary.AppendUvarint(w.buf, uint64(len(m.body)))
		w.buf = append(w.buf, m.body...)
	}
	w.n++
}

// text is the frame as a NOTIFY payload.
func (w *frameWriter) text() string { return base64.RawStdEncoding.EncodeToString(w.buf) }

var errFrame = errors.New("malformed bus frame")

// parseFrame decodes a NOTIFY payload into its origin and messages.
func parseFrame(payload string) (origin string, msgs []busMsg, err error) {
	b, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errFrame, err)
	}
	if len(b) == 0 || b[0] != frameV1 {
		return "", nil, fmt.Errorf("%w: unknown version", errFrame)
	}
	r := reader{b: b[1:]}
	origin = string(r.bytes())
	for r.err == nil && len(r.b) > 0 {
		kind := r.byte()
		m := busMsg{topic: string(r.bytes())}
		switch kind {
		case kindInline:
			m.body = r.bytes()
		case kindSpilled:
			m.ref = int64(r.uvarint())
			if m.ref <= 0 && r.err == nil {
				r.err = fmt.Errorf("%w: bad reference", errFrame)
			}
		default:
			r.err = fmt.Errorf("%w: unknown message kind %d", errFrame, kind)
		}
		msgs = append(msgs, m)
	}
	if r.err != nil {
		return "", nil, r.err
	}
	return origin, msgs, nil
}

// reader reads a frame; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated", errFrame)
	}
}
