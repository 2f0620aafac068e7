package comfyjson

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestPythonOperators(t *testing.T) {
	t.Parallel()
	obj := Object{{"k", json.Number("0")}}
	m := map[string]any{"k": ""}
	tests := []struct {
		name     string
		v        any
		contains bool
		getErr   bool
		iter     int // len of `for x in v`, -1 for TypeError
	}{
		{"object with key", obj, true, false, 1},
		{"map with key", m, true, false, 1},
		{"object without key", Object{}, false, false, 0},
		{"list holding the key", []any{"k", json.Number("1")}, true, true, 2},
		{"list holding other values", []any{[]any{"k"}, Object{{"k", 1}}}, false, true, 2},
		{"string containing the key", "a k b", true, true, 5},
		{"number", json.Number("1"), false, true, -1},
		{"null", nil, false, true, -1},
		{"bool", true, false, true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			has, err := Contains(tt.v, "k")
			isScalar := tt.iter < 0
			if has != tt.contains || (err != nil) != isScalar {
				t.Errorf("Contains = %v, %v", has, err)
			}
			if _, err := Get(tt.v, "k"); (err != nil) != tt.getErr || err != nil && !errors.Is(err, ErrTypeError) {
				t.Errorf("Get err = %v, want error %v", err, tt.getErr)
			}
			items, err := Iter(tt.v)
			if (err != nil) != isScalar || !isScalar && len(items) != tt.iter {
				t.Errorf("Iter = %v, %v", items, err)
			}
		})
	}
}

func TestTruthy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"None", nil, false},
		{"False", false, false},
		{"True", true, true},
		{"empty str", "", false},
		{"str", "0", true},
		{"int zero", json.Number("0"), false},
		{"float zero", json.Number("-0.0"), false},
		{"zero with exponent", json.Number("0e5"), false},
		{"int", json.Number("2"), true},
		{"inf", json.Number("1e999"), true},
		{"empty list", []any{}, false},
		{"list", []any{nil}, true},
		{"empty dict", Object{}, false},
		{"dict", Object{{"a", nil}}, true},
		{"empty map", map[string]any{}, false},
		{"other", struct{}{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Truthy(tt.v); got != tt.want {
				t.Errorf("Truthy(%#v) = %v", tt.v, got)
			}
		})
	}
}
