package comfyjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestDumps(t *testing.T) {
	t.Parallel()
	// want is json.dumps of the same Python value, from CPython 3.11.
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"layout and order", Object{{"prompt_id", "p"}, {"number", json.Number("3")}, {"f", Float(1)}},
			`{"prompt_id": "p", "number": 3, "f": 1.0}`},
		{"non-ascii escaped", "héllo \U0001F600 \u2028", `"h\u00e9llo \ud83d\ude00 \u2028"`},
		{"html left alone", "<&>", `"<&>"`},
		{"short escapes", "\b\f\n\r\t\"\\", `"\b\f\n\r\t\"\\"`},
		{"control characters", "\x00\x1f", `"\u0000\u001f"`},
		{"delete escaped", "\x7f", `"\u007f"`},
		{"separators inside strings kept", map[string]string{"a": `x, y: "z"`}, `{"a": "x, y: \"z\""}`},
		{"numbers as python writes them", []any{json.Number("1e2"), json.Number("-0"), json.Number("1.50"), json.Number("1e999")},
			`[100.0, 0, 1.5, 1e999]`},
		{"go floats as python floats", []any{0.000001, 1e21, 2.5}, `[1e-06, 1e+21, 2.5]`},
		{"empty containers", Object{{"l", []any{}}, {"o", Object{}}}, `{"l": [], "o": {}}`},
		{"scalars", []any{true, false, nil}, `[true, false, null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Dumps(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Dumps:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := Dumps(json.Number("not a number")); err == nil {
		t.Error("Dumps of an invalid json.Number succeeded")
	}
}

// TestDumpsComfyUIBytes: every body and message ComfyUI wrote in the
// testdata captures comes back byte for byte through Loads and Dumps, as
// json.dumps(json.loads(body)) does in Python.
func TestDumpsComfyUIBytes(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			for i, body := range bodies(t, file) {
				v, err := Loads(body)
				if err != nil {
					t.Fatalf("body %d: %v", i, err)
				}
				if got := MustDumps(v); !bytes.Equal(got, body) {
					t.Errorf("body %d:\n got %s\nwant %s", i, got, body)
				}
			}
		})
	}
}

// bodies returns a .json file whole, or each line of a .jsonl file.
func bodies(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(file) == ".json" {
		return [][]byte{data}
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

func TestPythonizeKeepsEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"unicode escape kept", `"\u00e9"`, `"\u00e9"`},
		{"backspace shortened", `"\u0008"`, `"\b"`},
		{"form feed shortened", `"\u000c"`, `"\f"`},
		{"escaped quote", `"a\"b"`, `"a\"b"`},
		{"escaped backslash before quote", `["\\",1]`, `["\\", 1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(Pythonize([]byte(tt.in))); got != tt.want {
				t.Errorf("Pythonize(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkDumps(b *testing.B) {
	v, err := Loads(benchBody(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Dumps(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body := benchBody(b)
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBody is a /queue answer with three graphs, and sets the benchmark's
// bytes per operation to its size.
func benchBody(b *testing.B) []byte {
	body, err := os.ReadFile("testdata/04-get-queue-one-running-two-pending.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	return body
}
