package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The wire form of an event between replicas: a version byte, then job
// id, owner, seq, sub, type, data and time (Unix nanoseconds), strings and
// data length-prefixed, numbers as varints.
const wireV1 = 1

// maxWireField bounds one field of a wire event (data: a preview image).
const maxWireField = 64 << 20

// ErrWire is wrapped by every ReadWire failure.
var ErrWire = errors.New("malformed wire event")

// AppendWire appends e's wire form to b.
func AppendWire(b []byte, e Event) []byte {
	b = append(b, wireV1)
	b = appendBytes(b, []byte(e.JobID))
	b = appendBytes(b, []byte(e.Owner))
	b = binary.AppendVarint(b, e.Seq)
	b = binary.AppendVarint(b, e.Sub)
	b = appendBytes(b, []byte(e.Type))
	b = appendBytes(b, e.Data)
	var ns int64
	if !e.Time.IsZero() {
		ns = e.Time.UnixNano()
	}
	return binary.AppendVarint(b, ns)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// ReadWire decodes an event AppendWire made. Data is copied out of b.
func ReadWire(b []byte) (Event, error) {
	if len(b) == 0 || b[0] != wireV1 {
		return Event{}, fmt.Errorf("%w: unknown version", ErrWire)
	}
	r := wireReader{b: b[1:]}
	e := Event{JobID: string(r.bytes()), Owner: string(r.bytes()), Seq: r.varint(), Sub: r.varint(), Type: string(r.bytes())}
	if data := r.bytes(); len(data) > 0 {
		e.Data = append([]byte(nil), data...)
	}
	if ns := r.varint(); ns != 0 {
		e.Time = time.Unix(0, ns).UTC()
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrWire, len(r.b))
	}
	if r.err != nil {
		return Event{}, r.err
	}
	return e, nil
}

// wireReader reads fields; the first error sticks.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated number", ErrWire)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > maxWireField || n > uint64(len(r.b)-k) {
		r.err = fmt.Errorf("%w: truncated field", ErrWire)
		return nil
	}
	v := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return v
}
