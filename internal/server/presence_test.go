package server

import (
	"testing"
	"time"
)

func TestPresence(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := newPresence("me", nil)
	p.now = func() time.Time { return now }
	steps := []struct {
		name                string
		body                []byte
		advance             time.Duration
		wantEvts, wantSocks bool
	}{
		{"nobody said anything", nil, 0, false, false},
		{"a replica with streams", []byte("\x01r2"), 0, true, false},
		{"another with sockets", []byte("\x02r3"), 0, true, true},
		{"the first no longer watches", []byte("\x00r2"), 0, false, true},
		{"a malformed message changes nothing", []byte("\x03"), 0, false, true},
		{"what was said lapses", nil, presenceTTL, false, false},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if st.body != nil {
			p.receive(st.body)
		}
		p.recompute()
		if p.wantsEvents() != st.wantEvts || p.wantsSockets() != st.wantSocks {
			t.Errorf("%s: events %v sockets %v, want %v %v", st.name, p.wantsEvents(), p.wantsSockets(), st.wantEvts, st.wantSocks)
		}
	}
	if b := (wants{events: true, sockets: true}).byte(); b != 3 {
		t.Errorf("flags byte = %d", b)
	}
}
