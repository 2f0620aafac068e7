package engine

import (
	"encoding/json"
	"testing"
)

// The cases are what Python does with `cached_output[output_index]` after
// the `output_index >= len(cached_output)` check, for a node with two
// outputs.
func TestSlotIndexIsPythons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		slot    any
		want    int
		missing bool
		exc     string
	}{
		{"first", json.Number("0"), 0, false, ""},
		{"last", json.Number("1"), 1, false, ""},
		{"minus one is the last", json.Number("-1"), 1, false, ""},
		{"minus two is the first", json.Number("-2"), 0, false, ""},
		{"true is one", true, 1, false, ""},
		{"false is zero", false, 0, false, ""},
		{"past the end is None", json.Number("2"), 0, true, ""},
		{"huge is None", json.Number("99999999999999999999"), 0, true, ""},
		{"float past the end is None", json.Number("2.0"), 0, true, ""},
		{"infinity is None", json.Number("1e999"), 0, true, ""},
		{"before the start", json.Number("-3"), 0, false, "IndexError: list index out of range"},
		{"hugely negative", json.Number("-99999999999999999999"), 0, false, "IndexError: cannot fit 'int' into an index-sized integer"},
		{"float inside", json.Number("1.0"), 0, false, "TypeError: list indices must be integers or slices, not float"},
		{"negative float", json.Number("-1e999"), 0, false, "TypeError: list indices must be integers or slices, not float"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, s, ok := asLink([]any{"4", tt.slot})
			if !ok {
				t.Fatalf("%v is not a link", tt.slot)
			}
			i, missing, exc := s.index(2)
			got := ""
			if exc != nil {
				got = exc.Error()
			}
			if got != tt.exc || missing != tt.missing || (exc == nil && !missing && i != tt.want) {
				t.Errorf("index = %d, missing %v, exception %q; want %d, %v, %q", i, missing, got, tt.want, tt.missing, tt.exc)
			}
		})
	}
}

func TestAsLinkIsIsLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"int slot", []any{"1", json.Number("0")}, true},
		{"bool slot", []any{"1", true}, true},
		{"float slot", []any{"1", json.Number("0.5")}, true},
		{"string slot", []any{"1", "0"}, false},
		{"number id", []any{json.Number("1"), json.Number("0")}, false},
		{"three elements", []any{"1", json.Number("0"), json.Number("0")}, false},
		{"null slot", []any{"1", nil}, false},
		{"not a list", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, _, ok := asLink(tt.v); ok != tt.want {
				t.Errorf("asLink(%v) = %v, want %v", tt.v, ok, tt.want)
			}
		})
	}
}

// Python's 1 == 1.0 == True: equal slots share a cache key.
func TestSlotKeysFollowPythonEquality(t *testing.T) {
	t.Parallel()
	key := func(v any) string {
		_, s, _ := asLink([]any{"1", v})
		return s.key()
	}
	if a, b, c := key(json.Number("1")), key(json.Number("1.0")), key(true); a != b || b != c {
		t.Errorf("keys of 1, 1.0, True: %q %q %q", a, b, c)
	}
	if key(json.Number("-1")) == key(json.Number("1")) {
		t.Error("-1 and 1 share a key")
	}
	if key(json.Number("0.5")) == key(json.Number("0")) {
		t.Error("0.5 and 0 share a key")
	}
}
