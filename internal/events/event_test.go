package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseID(t *testing.T) {
	t.Parallel()
	valid := []struct {
		in   string
		want ID
	}{
		{"0", ID{}},
		{"1", ID{Seq: 1}},
		{"42.7", ID{Seq: 42, Sub: 7}},
		{"0.1", ID{Sub: 1}},
		{"9223372036854775807.9223372036854775807", ID{Seq: 1<<63 - 1, Sub: 1<<63 - 1}},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseID(tc.in)
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseID(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.in {
				t.Errorf("String() = %q, want %q", s, tc.in)
			}
		})
	}
	invalid := []struct{ name, in, wantMsg string }{
		{"empty", "", "empty"},
		{"negative", "-1", "not a decimal"},
		{"plus sign", "+1", "not a decimal"},
		{"leading zero", "01", "leading zero"},
		{"zero sub", "1.0", "sub must be at least 1"},
		{"sub leading zero", "1.01", "leading zero"},
		{"trailing dot", "1.", "sub is empty"},
		{"leading dot", ".1", "seq is empty"},
		{"two dots", "1.2.3", "not a decimal"},
		{"letters", "abc", "not a decimal"},
		{"space", " 1", "not a decimal"},
		{"hex", "0x1", "not a decimal"},
		{"overflow", "9223372036854775808", "out of range"},
		{"too long", strings.Repeat("1", 40), "longer than"},
		{"unicode digit", "١", "not a decimal"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseID(tc.in)
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("ParseID(%q) error = %v, want ErrInvalidID", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("ParseID(%q) error = %q, want it to mention %q", tc.in, err, tc.wantMsg)
			}
		})
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0", "1", "12.3", "1.0", "-1", "01", "1..2", "9223372036854775808", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("ParseID(%q) error %v does not wrap ErrInvalidID", s, err)
			}
			return
		}
		if id.Seq < 0 || id.Sub < 0 {
			t.Fatalf("ParseID(%q) = %+v: negative", s, id)
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseID(%q).String() = %q: accepted a non-canonical form", s, got)
		}
	})
}

func TestIDOrder(t *testing.T) {
	t.Parallel()
	ordered := []ID{{}, {Sub: 1}, {Sub: 2}, {Seq: 1}, {Seq: 1, Sub: 1}, {Seq: 1, Sub: 10}, {Seq: 2}}
	for i, a := range ordered {
		for j, b := range ordered {
			want := cmpInt(int64(i), int64(j))
			if got := a.Compare(b); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestEventDurable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    Event
		want bool
	}{
		{"stored", Event{Seq: 3}, true},
		{"not stored", Event{}, false},
		{"stamped ephemeral", Event{Seq: 3, Sub: 1}, false},
		{"ephemeral before any durable", Event{Sub: 2}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Durable(); got != tc.want {
				t.Errorf("Durable() = %v, want %v", got, tc.want)
			}
		})
	}
	if diff := cmp.Diff("3.1", (Event{Seq: 3, Sub: 1}).ID().String()); diff != "" {
		t.Errorf("ID() mismatch (-want +got):\n%s", diff)
	}
}

func TestWireRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    Event
	}{
		{"durable", Event{JobID: "j", Owner: "alice", Seq: 3, Type: "output", Data: json.RawMessage(`{"a":1}`),
			Time: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}},
		{"ephemeral", Event{JobID: "j", Seq: 3, Sub: 2, Type: "progress", Data: json.RawMessage(`{}`)}},
		{"empty", Event{JobID: "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWire(AppendWire(nil, tt.e))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	for name, b := range map[string][]byte{
		"empty":       nil,
		"version":     {2},
		"truncated":   AppendWire(nil, tests[0].e)[:10],
		"trailing":    append(AppendWire(nil, tests[0].e), 0),
		"huge length": {1, 0xff, 0xff, 0xff, 0xff, 0x7f},
	} {
		if _, err := ReadWire(b); !errors.Is(err, ErrWire) {
			t.Errorf("%s: error %v, want ErrWire", name, err)
		}
	}
}

func FuzzReadWire(f *testing.F) {
	f.Add(AppendWire(nil, Event{JobID: "j", Owner: "o", Seq: 1, Type: "queued", Data: json.RawMessage(`{}`), Time: time.Unix(1, 0)}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ReadWire(b)
		if err != nil {
			return
		}
		again, err := ReadWire(AppendWire(nil, e))
		if err != nil {
			t.Fatalf("re-encoded event unreadable: %v", err)
		}
		if !cmp.Equal(e, again) {
			t.Fatalf("round trip changed %+v into %+v", e, again)
		}
	})
}
