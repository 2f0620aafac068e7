package postgres

import (
	"bytes"
	"testing"
)

// FuzzParseFrame: any notification text is read without panicking, and a
// frame the writer made reads back as written.
func FuzzParseFrame(f *testing.F) {
	f.Add("r1", "ev", []byte("hello"), int64(0))
	f.Add("", "tap", []byte{0, 1, 2, 255}, int64(7))
	f.Add("replica-with-a-long-name", "", []byte{}, int64(1<<40))
	f.Fuzz(func(t *testing.T, origin, topic string, body []byte, ref int64) {
		_, _, _ = parseFrame(string(body)) // arbitrary text
		if len(origin)+len(topic)+len(body) > maxFrame/2 {
			return
		}
		w := frameWriter{origin: origin}
		w.reset()
		m := busMsg{topic: topic, body: body}
		if ref > 0 {
			m = busMsg{topic: topic, ref: ref}
		}
		w.add(m)
		w.add(busMsg{topic: "second", body: []byte("x")})
		gotOrigin, msgs, err := parseFrame(w.text())
		if err != nil {
			t.Fatalf("own frame unreadable: %v", err)
		}
		if gotOrigin != origin || len(msgs) != 2 || msgs[0].topic != topic || msgs[0].ref != m.ref ||
			!bytes.Equal(msgs[0].body, m.body) || string(msgs[1].body) != "x" {
			t.Fatalf("round trip: origin %q, msgs %+v", gotOrigin, msgs)
		}
	})
}

func TestFrameFitsANotify(t *testing.T) {
	w := frameWriter{origin: "replica"}
	w.reset()
	for w.fits(busMsg{topic: "ev", body: []byte("0123456789")}) {
		w.add(busMsg{topic: "ev", body: []byte("0123456789")})
	}
	if n := len(w.text()); n > maxNotify {
		t.Errorf("a full frame is %d bytes of text, more than a NOTIFY takes (%d)", n, maxNotify)
	}
}
