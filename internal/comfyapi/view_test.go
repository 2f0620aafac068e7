package comfyapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseView(t *testing.T) {
	tests := []struct {
		name, raw string
		want      viewQuery
	}{
		{"plain output", "filename=a.png&subfolder=sub&type=output", viewQuery{typ: "output", sub: "sub", name: "a.png"}},
		{"type defaults to output", "filename=a.png", viewQuery{typ: "output", name: "a.png"}},
		{"annotation overrides type", "filename=a.png%20%5Binput%5D&type=output", viewQuery{typ: "input", name: "a.png"}},
		{"directory part dropped", "filename=sub/a.png", viewQuery{typ: "output", name: "a.png"}},
		{"subfolder normalised", "filename=a.png&subfolder=x/./y/", viewQuery{typ: "output", sub: "x/y", name: "a.png"}},
		{"subfolder inside after ..", "filename=a.png&subfolder=x/../y", viewQuery{typ: "output", sub: "y", name: "a.png"}},
		{"preview with semicolon", "filename=a.png&preview=webp;50&channel=rgb", viewQuery{typ: "output", name: "a.png", preview: "webp;50", hasPrev: true, channel: "rgb"}},
		{"no filename", "type=output", viewQuery{status: http.StatusNotFound}},
		{"empty filename", "filename=", viewQuery{status: http.StatusBadRequest}},
		{"dot dot anywhere", "filename=a..b.png", viewQuery{status: http.StatusBadRequest}},
		{"relative escape", "filename=../input/x.png", viewQuery{status: http.StatusBadRequest}},
		{"absolute", "filename=%2Fetc%2Fpasswd", viewQuery{status: http.StatusBadRequest}},
		{"backslash escape", "filename=..%5C..%5Cx", viewQuery{status: http.StatusBadRequest}},
		{"unknown type", "filename=a.png&type=bogus", viewQuery{status: http.StatusBadRequest}},
		{"annotated escape", "filename=..%2Fx.png%20%5Binput%5D", viewQuery{status: http.StatusBadRequest}},
		{"subfolder escape", "filename=a.png&subfolder=../input", viewQuery{status: http.StatusForbidden}},
		{"subfolder absolute", "filename=a.png&subfolder=/etc", viewQuery{status: http.StatusForbidden}},
		{"subfolder deep escape", "filename=a.png&subfolder=a/../../b", viewQuery{status: http.StatusForbidden}},
		{"NUL in name", "filename=a%00.png", viewQuery{status: http.StatusNotFound}},
		{"NUL in subfolder", "filename=a.png&subfolder=a%00", viewQuery{status: http.StatusNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, parseView(tt.raw), cmp.AllowUnexported(viewQuery{})); d != "" {
				t.Errorf("parseView(%q) (-want +got):\n%s", tt.raw, d)
			}
		})
	}
}

// FuzzParseView: whatever the query, the parser never panics, and a file
// it lets through names a base name inside a clean, relative subfolder of
// one of the three directories.
func FuzzParseView(f *testing.F) {
	for _, s := range []string{"filename=a.png", "filename=../x", "filename=a&subfolder=../b", "filename=a%00&type=temp",
		"filename=x.png%20%5Boutput%5D&preview=jpeg;80&channel=a", "filename=%", "subfolder=a/b&filename=c/d/e.png", "filename=.&subfolder=."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := parseView(raw)
		if !q.ok() {
			if q.status != http.StatusBadRequest && q.status != http.StatusForbidden && q.status != http.StatusNotFound {
				t.Fatalf("status %d", q.status)
			}
			return
		}
		if q.typ != "input" && q.typ != "output" && q.typ != "temp" {
			t.Fatalf("type %q", q.typ)
		}
		if q.name == "" || strings.Contains(q.name, "/") || strings.Contains(q.name, "..") || strings.ContainsRune(q.name, 0) {
			t.Fatalf("name %q", q.name)
		}
		if strings.HasPrefix(q.sub, "/") || q.sub == ".." || strings.HasPrefix(q.sub, "../") || strings.ContainsRune(q.sub, 0) {
			t.Fatalf("subfolder %q escapes", q.sub)
		}
	})
}

func TestFloatRepr(t *testing.T) {
	tests := map[float64]string{7.5: "7.5", 3: "3.0", -40: "-40.0", 1e15: "1000000000000000.0", 1e16: "1e+16",
		0.0001: "0.0001", 0.00001: "1e-05", 0.1: "0.1", 123456789.25: "123456789.25"}
	for f, want := range tests {
		if got, ok := floatRepr(f); !ok || got != want {
			t.Errorf("floatRepr(%v) = %q, %v; want %q (Python's repr)", f, got, ok, want)
		}
	}
}

func TestCounterNames(t *testing.T) {
	tests := []struct{ name, prefix, digits, suffix string }{
		{"basic_00001_.png", "basic", "00001", "_.png"},
		{"ComfyUI_temp_abcde_00003_.png", "ComfyUI_temp_abcde", "00003", "_.png"},
		{"clip_00012.mp4", "clip", "00012", ".mp4"},
		{"big_1234567_.webp", "big", "1234567", "_.webp"},
	}
	for _, tt := range tests {
		m := counterName.FindStringSubmatch(tt.name)
		if m == nil || m[1] != tt.prefix || m[2] != tt.digits || m[3] != tt.suffix {
			t.Errorf("%s: %q, want %q %q %q", tt.name, m, tt.prefix, tt.digits, tt.suffix)
		}
	}
	for _, plain := range []string{"video.mp4", "a_1_.png", "x_0001_.png"} {
		if counterName.MatchString(plain) {
			t.Errorf("%s has no SaveImage counter", plain)
		}
	}
}
