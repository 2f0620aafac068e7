package comfyjson

import (
	"encoding/json"
	"math/big"
	"testing"
)

func TestRepr(t *testing.T) {
	t.Parallel()
	// repr and str are what CPython 3.11 prints for json.loads(in); the
	// Go-value cases print as the Python value they stand for.
	tests := []struct {
		name string
		in   any
		repr string
		str  string
	}{
		{"dict in order", mustDecode(t, `{"a": [1, 2.5, "it's", true, null], "b": "x\ny"}`),
			`{'a': [1, 2.5, "it's", True, None], 'b': 'x\ny'}`, `{'a': [1, 2.5, "it's", True, None], 'b': 'x\ny'}`},
		{"repeated key", mustDecode(t, `{"b": 1, "a": {"z": [1e2, -0], "y": null}, "b": 3}`),
			`{'b': 3, 'a': {'z': [100.0, 0], 'y': None}}`, `{'b': 3, 'a': {'z': [100.0, 0], 'y': None}}`},
		{"unprintable characters", "é\u2028\U0001F600\x7f\x00\u00a0", `'é\u2028😀\x7f\x00\xa0'`, "é\u2028\U0001F600\x7f\x00\u00a0"},
		{"both quotes", mustDecode(t, `["a\"b'c", "\\", "\t\r"]`), `['a"b\'c', '\\', '\t\r']`, `['a"b\'c', '\\', '\t\r']`},
		{"key with a quote", mustDecode(t, `{"'k'": {}}`), `{"'k'": {}}`, `{"'k'": {}}`},
		{"prompt id number", json.Number("123"), "123", "123"},
		{"prompt id null", nil, "None", "None"},
		{"prompt id true", true, "True", "True"},
		{"overflowing literal is inf", json.Number("1e999"), "inf", "inf"},
		{"inf inside a list", []any{json.Number("-1e999")}, "[-inf]", "[-inf]"},
		{"map sorted", map[string]any{"b": 1, "a": 2.0}, "{'a': 2.0, 'b': 1}", "{'a': 2.0, 'b': 1}"},
		{"go ints", []any{7, int64(-8), big.NewInt(9), uint8(10)}, "[7, -8, 9, 10]", "[7, -8, 9, 10]"},
		{"go floats", []any{float32(0.5), Float(3)}, "[0.5, 3.0]", "[0.5, 3.0]"},
		{"single quote", "it's", `"it's"`, "it's"},
		{"both quotes in a str", `a'b"c`, `'a\'b"c'`, `a'b"c`},
		{"newline and accent", "é\n", `'é\n'`, "é\n"},
		{"nul", "\x00", `'\x00'`, "\x00"},
		{"zero width space", "\u200b", `'\u200b'`, "\u200b"},
		{"emoji", "\U0001F600", "'\U0001F600'", "\U0001F600"},
		{"nbsp", "\u00a0", `'\xa0'`, "\u00a0"},
		{"list of literals", []any{json.Number("1"), "x", nil, true, json.Number("2.50")}, "[1, 'x', None, True, 2.5]", "[1, 'x', None, True, 2.5]"},
		{"map with a list", map[string]any{"b": json.Number("1"), "a": []any{}}, "{'a': [], 'b': 1}", "{'a': [], 'b': 1}"},
		{"big int", json.Number("18446744073709551615"), "18446744073709551615", "18446744073709551615"},
		{"negative zero int", json.Number("-0"), "0", "0"},
		{"float literal", json.Number("1e16"), "1e+16", "1e+16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Repr(tt.in); got != tt.repr {
				t.Errorf("Repr = %s, want %s", got, tt.repr)
			}
			if got := Str(tt.in); got != tt.str {
				t.Errorf("Str = %s, want %s", got, tt.str)
			}
		})
	}
}

// TestReprComfyUIDetails: the details ComfyUI 0.3.64 wrote for a width of
// 1e999 ("width, inf, cannot convert float infinity to integer", captured
// in workflow/testdata/validation/probed.json) print the value with str().
func TestReprComfyUIDetails(t *testing.T) {
	t.Parallel()
	v, err := Decode([]byte(`{"width": 1e999}`))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := v.(Object).Get("width")
	if got := "width, " + Str(w) + ", cannot convert float infinity to integer"; got != "width, inf, cannot convert float infinity to integer" {
		t.Errorf("details = %q", got)
	}
	if got := MustDumps(v); string(got) != `{"width": 1e999}` {
		t.Errorf("received_value written as %s", got)
	}
}

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
