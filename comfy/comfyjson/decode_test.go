package comfyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"keeps order", `{"b": 1, "a": 2}`, Object{{"b", json.Number("1")}, {"a", json.Number("2")}}},
		{"repeated key keeps first place, last value", `{"b":1,"a":{},"b":3}`,
			Object{{"b", json.Number("3")}, {"a", Object{}}}},
		{"numbers as written", `[1.50, 1e2, -0]`, []any{json.Number("1.50"), json.Number("1e2"), json.Number("-0")}},
		{"empty containers", `[{}, []]`, []any{Object{}, []any{}}},
		{"scalars", `[true, false, null, "é"]`, []any{true, false, nil, "é"}},
		{"nested", `{"a": {"b": [{"c": null}]}}`,
			Object{{"a", Object{{"b", []any{Object{{"c", nil}}}}}}}},
		{"white space around", " \n\"x\"\t ", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeManyKeys(t *testing.T) {
	t.Parallel()
	// Past indexFrom members the decoder indexes keys; order and repeated
	// keys must behave as with few.
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 100 {
		b.WriteString(`"k` + string(rune('0'+i%10)) + string(rune('0'+i/10)) + `": ` + string(rune('0'+i%10)) + `, `)
	}
	b.WriteString(`"k00": "last", "new": true}`)
	v, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(Object)
	if len(obj) != 101 || obj[0].Key != "k00" || obj[0].Value != "last" || obj[100].Key != "new" {
		t.Errorf("got %d members, first %v, last %v", len(obj), obj[0], obj[len(obj)-1])
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 11) + strings.Repeat("]", 11)
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string
		is   error
	}{
		{"empty", "", Limits{}, "empty input", ErrEmpty},
		{"blank", "  \n", Limits{}, "empty input", ErrEmpty},
		{"truncated object", `{"1": `, Limits{}, "unexpected end of JSON input", ErrTruncated},
		{"truncated array", `[1,`, Limits{}, "unexpected end of JSON input", ErrTruncated},
		{"two values", `{} {}`, Limits{}, "unexpected data after the JSON value", ErrTrailingData},
		{"closing too many", `{}]`, Limits{}, "unexpected data after the JSON value", ErrTrailingData},
		{"trailing comma", `[1,]`, Limits{}, "invalid character ']' looking for beginning of value", nil},
		{"python NaN", `[NaN]`, Limits{}, "invalid character 'N' looking for beginning of value", nil},
		{"invalid utf-8", "\"\xff\"", Limits{}, "JSON text is not valid UTF-8", ErrInvalidUTF8},
		{"too deep", deep, Limits{MaxDepth: 10}, "too large: nesting depth exceeds the limit of 10", nil},
		{"long string", `["abcdef"]`, Limits{MaxStringLen: 5}, "too large: string length exceeds the limit of 5", nil},
		{"long key", `{"abcdef": 1}`, Limits{MaxStringLen: 5}, "too large: string length exceeds the limit of 5", nil},
		{"int beyond CPython's digits", "1" + strings.Repeat("0", 4300), Limits{}, "integer literal exceeds 4300 digits", nil},
		{"too many values", `[0, 0, [0]]`, Limits{MaxValues: 4}, "too large: number of values exceeds the limit of 4", nil},
		{"members count by their values", `{"a": {}, "b": 1}`, Limits{MaxValues: 2}, "too large: number of values exceeds the limit of 2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeLimits([]byte(tt.in), tt.lim)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
	var le *LimitError
	if _, err := DecodeLimits([]byte(deep), Limits{MaxDepth: 10}); !errors.As(err, &le) || le.Limit != 10 {
		t.Errorf("depth error is %#v, want a *LimitError", err)
	}
}

func TestDecodeLimitsAtTheBound(t *testing.T) {
	t.Parallel()
	at := strings.Repeat("[", 10) + strings.Repeat("]", 10)
	if _, err := DecodeLimits([]byte(at), Limits{MaxDepth: 10}); err != nil {
		t.Errorf("depth 10 with MaxDepth 10: %v", err)
	}
	if _, err := DecodeLimits([]byte(`{"abcde": "abcde"}`), Limits{MaxStringLen: 5}); err != nil {
		t.Errorf("strings of 5 bytes with MaxStringLen 5: %v", err)
	}
	if _, err := DecodeLimits([]byte(`[0, 0, [0]]`), Limits{MaxValues: 5}); err != nil {
		t.Errorf("5 values with MaxValues 5: %v", err)
	}
	if _, err := Decode([]byte("-" + strings.Repeat("9", 4300))); err != nil {
		t.Errorf("a 4300-digit int: %v", err)
	}
	if _, err := Decode([]byte("1." + strings.Repeat("9", 5000))); err != nil {
		t.Errorf("a long float: %v", err)
	}
}

func TestLoads(t *testing.T) {
	t.Parallel()
	v, err := Loads([]byte(`{"a": [1e2, -0, 1.50, 7], "b": {"c": 1e999}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{{"a", []any{json.Number("100.0"), json.Number("0"), json.Number("1.5"), json.Number("7")}},
		{"b", Object{{"c", json.Number("1e999")}}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := Loads([]byte(`{`)); err == nil {
		t.Error("Loads accepted a truncated object")
	}
}

// FuzzDecode: the decoder reads untrusted bodies, frames and files. It must
// never panic, must accept exactly what encoding/json accepts (but for its
// own bounds), must decode the same values, and what Dumps writes must read
// back to the same Python values.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `[1,"a",{"b":null}]`, `{"a":1e400}`, `"\u00e9\u007f"`, `{"a":{"a":1},"a":2}`,
		`{"a":1,"b":[true,null,"x"],"a":2.50}`, `{"a":1}x`, `[1,`, ``, `-0`, `[1e-7, 0.000001]`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeLimits(data, Limits{MaxDepth: 64})
		ref, refErr := referenceDecode(data)
		if err != nil && refErr == nil && ours(err) {
			return
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("Decode err=%v, encoding/json err=%v", err, refErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(ref, Plain(v)); diff != "" {
			t.Fatalf("differs from encoding/json (-json +ordered):\n%s", diff)
		}
		sameEncoding(t, Plain(v))
		checkDumps(t, v)
	})
}

// ours reports the refusals that are this package's alone: its bounds and
// the rules of json.loads that encoding/json does not have.
func ours(err error) bool {
	var le *LimitError
	return errors.As(err, &le) || errors.Is(err, ErrInvalidUTF8) || strings.HasPrefix(err.Error(), "integer literal exceeds")
}

func referenceDecode(data []byte) (any, error) {
	var ref any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&ref); err != nil {
		return nil, err
	}
	var rest any
	if dec.Decode(&rest) != io.EOF {
		return nil, ErrTrailingData
	}
	return ref, nil
}

// checkDumps: Dumps output is valid JSON that reads back to the same
// Python values, and is stable when written again.
func checkDumps(t *testing.T, v any) {
	t.Helper()
	out, err := Dumps(v)
	if err != nil {
		t.Fatalf("Dumps: %v", err)
	}
	back, err := Loads(out)
	if err != nil {
		t.Fatalf("Dumps output does not decode: %v\n%s", err, out)
	}
	again, err := Dumps(back)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("Dumps is not stable:\n%s\n%s", out, again)
	}
	if Repr(back) != Repr(v) {
		t.Fatalf("values changed through Dumps: %s became %s", Repr(v), Repr(back))
	}
}

// sameEncoding: Marshal writes what encoding/json writes (without HTML
// escaping) for the same value.
func sameEncoding(t *testing.T, v any) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(v)
	if err != nil || !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
		t.Fatalf("Marshal = %s, %v; encoding/json wrote %s", got, err, want.Bytes())
	}
}

// FuzzMarshalString: strings, valid UTF-8 or not, are quoted exactly as
// encoding/json quotes them.
func FuzzMarshalString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\"\\\b\f\n\r\t", "<&>", "\u2028\u2029", "\xff\xfe", "é😀\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameEncoding(t, s)
		sameEncoding(t, []any{s, map[string]any{s: s}})
	})
}
