package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseParam(t *testing.T) {
	for _, tc := range []struct{ in, key, raw string }{
		{"prompt=a red fox", "prompt", "a red fox"},
		{"prompt=a=b", "prompt", "a=b"},
		{"prompt=1984", "prompt", "1984"},
		{"empty=", "empty", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			k, v, err := parseParam(tc.in)
			if err != nil || k != tc.key || v != tc.raw {
				t.Fatalf("parseParam(%q) = %q, %q, %v; want %q, %q", tc.in, k, v, err, tc.key, tc.raw)
			}
		})
	}
	for _, bad := range []string{"novalue", "=1", " =1"} {
		if _, _, err := parseParam(bad); err == nil || !strings.Contains(err.Error(), "want key=value") {
			t.Errorf("parseParam(%q) err = %v, want a key=value error", bad, err)
		}
	}
}

// TestGuessValue: a parameter whose schema gives no type is read as JSON
// when it is one whole JSON value, else as text.
func TestGuessValue(t *testing.T) {
	for _, tc := range []struct {
		in    string
		value any
	}{
		{"18446744073709551615", json.Number("18446744073709551615")},
		{"-0.25e-1", json.Number("-0.25e-1")},
		{"true", true},
		{"null", nil},
		{"a red fox", "a red fox"},
		{`"quoted"`, "quoted"},
		{"true story", "true story"},
		{"1 2", "1 2"},
		{"{broken", "{broken"},
		{"", ""},
		{"[512, 768]", []any{json.Number("512"), json.Number("768")}},
		{`{"name":"x","strength":0.8}`, map[string]any{"name": "x", "strength": json.Number("0.8")}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.value, guessValue(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadParamsFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file, content string
		want                map[string]any
		err                 string
	}{
		{"json", "p.json", `{"seed": 18446744073709551615, "prompt": "fox", "tiled": false}`,
			map[string]any{"seed": json.Number("18446744073709551615"), "prompt": "fox", "tiled": false}, ""},
		{"yaml", "p.yaml", "seed: 18446744073709551615\nhex: 0xff\nunder: 1_000\ncfg: 7.5\nratio: .5\nprompt: a fox\nyes: true\nnone: ~\nsize: [512, 768]\n",
			map[string]any{"seed": json.Number("18446744073709551615"), "hex": json.Number("255"), "under": json.Number("1000"),
				"cfg": json.Number("7.5"), "ratio": json.Number("0.5"), "prompt": "a fox", "yes": true, "none": nil,
				"size": []any{json.Number("512"), json.Number("768")}}, ""},
		{"yml quoted number stays text", "p.yml", "seed: \"42\"\n", map[string]any{"seed": "42"}, ""},
		{"json list", "l.json", `[1]`, nil, "want an object of parameter values, got a list"},
		{"json trailing", "t.json", `{} {}`, nil, "data after the JSON object"},
		{"json broken", "b.json", `{`, nil, "not JSON"},
		{"yaml scalar", "s.yaml", "just text\n", nil, "got a string"},
		{"yaml infinity", "i.yaml", "cfg: .inf\n", nil, "not a number JSON can carry"},
		{"yaml complex key", "k.yaml", "? [a]\n: 1\n", nil, "keys must be plain names"},
		{"yaml broken", "x.yaml", "a: [\n", nil, "not YAML"},
		{"yaml alias bomb", "bomb.yaml", aliasBomb(), nil, "more than 100000 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readParamsFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming the file and saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// aliasBomb is a small YAML document whose aliases expand to 10^9 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestReadParamsFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, make([]byte, maxParamsFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readParamsFile(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func FuzzParseParam(f *testing.F) {
	for _, s := range []string{"seed=1", "p=a red fox", "x=[1,{\"a\":2}]", "=", "k=\"", "k=1e999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, raw, err := parseParam(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, k+"=") {
			t.Fatalf("key %q is not what precedes the first = in %q", k, s)
		}
		for _, typ := range []string{"", "string", "integer", "number", "boolean"} {
			v, ok := typedValue(typ, raw)
			if !ok {
				continue
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("%s value of %q cannot be sent: %v", typ, s, err)
			}
		}
	})
}

func FuzzParamsFile(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a: &x [1]\nb: *x\n", "{\"a\": 1}", "- 1\n", "a: 0x1F\nb: 1e3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (map[string]any, error){decodeYAMLParams, decodeJSONParams} {
			m, err := decode(data)
			if err != nil {
				continue
			}
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("decoded params of %q cannot be sent: %v", data, err)
			}
		}
	})
}
