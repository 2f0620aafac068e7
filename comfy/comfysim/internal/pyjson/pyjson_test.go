package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestFloatRepr(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{1, "1.0"},
		{-2.5, "-2.5"},
		{7.5, "7.5"},
		{104857600, "104857600.0"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.5e300, "1.5e+300"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.25e-7, "1.25e-07"},
		{0.1, "0.1"},
		{123456.789, "123456.789"},
	}
	for _, tt := range tests {
		if got := FloatRepr(tt.in); got != tt.want {
			t.Errorf("FloatRepr(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := map[string]string{
		"0":                    "0",
		"-0":                   "0",
		"42":                   "42",
		"18446744073709551615": "18446744073709551615",
		"10.0":                 "10.0",
		"1e2":                  "100.0",
		"1.50":                 "1.5",
		"-0.0":                 "-0.0",
		"1e999":                "1e999",
	}
	for in, want := range tests {
		if got := Number(in); string(got) != want {
			t.Errorf("Number(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarshalLayout(t *testing.T) {
	v := Obj{
		{"prompt_id", "p"},
		{"number", json.Number("3")},
		{"f", Float(1)},
		{"text", "héllo \U0001F600 <&> \b\f"},
		{"list", []any{json.Number("1e2"), true, nil}},
		{"empty", Obj{}},
	}
	got := string(MustMarshal(v))
	want := `{"prompt_id": "p", "number": 3, "f": 1.0, "text": "h\u00e9llo \ud83d\ude00 <&> \b\f", "list": [100.0, true, null], "empty": {}}`
	if got != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
}

func TestMarshalKeepsSeparatorsInStrings(t *testing.T) {
	got := string(MustMarshal(map[string]string{"a": `x, y: "z"`}))
	want := `{"a": "x, y: \"z\""}`
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

func TestDecodeKeepsOrder(t *testing.T) {
	v, err := Decode([]byte(`{"b": 1, "a": {"z": [1, 2.0], "y": null}, "b": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(MustMarshal(v))
	want := `{"b": 3, "a": {"z": [1, 2.0], "y": null}}`
	if got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

func TestDecodeRejectsTrailing(t *testing.T) {
	for _, in := range []string{`{} {}`, `{"a":`, ``, `[1,]`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q): want error", in)
		}
	}
}

// Nesting is bounded: MaxDepth levels decode, one more is ErrTooDeep, and
// a body of nothing but brackets fails quickly instead of growing the
// stack without end.
func TestDecodeDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if _, err := Decode(nest(MaxDepth)); err != nil {
		t.Errorf("%d levels: %v", MaxDepth, err)
	}
	if _, err := Decode([]byte(strings.Repeat(`{"a": `, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1))); !errors.Is(err, ErrTooDeep) {
		t.Errorf("%d levels of objects: %v, want ErrTooDeep", MaxDepth+1, err)
	}
	if _, err := Decode(bytes.Repeat([]byte("["), 10<<20)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("10 MB of brackets: %v, want ErrTooDeep", err)
	}
}

func TestRepr(t *testing.T) {
	v, err := Decode([]byte(`{"a": [1, 2.5, "it's", true, null], "b": "x\ny"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   any
		want string
	}{
		{v, `{'a': [1, 2.5, "it's", True, None], 'b': 'x\ny'}`},
		{json.Number("123"), "123"},
		{nil, "None"},
	}
	for _, tt := range tests {
		if got := Repr(tt.in); got != tt.want {
			t.Errorf("Repr = %s, want %s", got, tt.want)
		}
	}
	if got := Str("plain"); got != "plain" {
		t.Errorf("Str(string) = %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `[1,"a",{"b":null}]`, `{"a":1e400}`, `"\u00e9"`, `{"a":{"a":1},"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("output does not decode: %v\n%s", err, out)
		}
	})
}
