package workflow

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// Expected values are what CPython 3.11 prints.

func TestPyIntConv(t *testing.T) {
	cases := []struct {
		in   any
		want string // "" when it fails
		msg  string
	}{
		{json.Number("5.9"), "5", ""},
		{json.Number("-5.9"), "-5", ""},
		{"5", "5", ""},
		{" +5 ", "5", ""},
		{"1_000", "1000", ""},
		{"٥", "5", ""},
		{"007", "7", ""},
		{true, "1", ""},
		{json.Number("1e20"), "100000000000000000000", ""},
		{"5.0", "", "invalid literal for int() with base 10: '5.0'"},
		{"1__0", "", "invalid literal for int() with base 10: '1__0'"},
		{"_1", "", "invalid literal for int() with base 10: '_1'"},
		{"", "", "invalid literal for int() with base 10: ''"},
		{nil, "", "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'"},
		{json.Number("1e999"), "", "cannot convert float infinity to integer"},
	}
	for _, tc := range cases {
		n, exc := pyIntConv(tc.in)
		switch {
		case tc.want != "" && (exc != nil || n.String() != tc.want):
			t.Errorf("int(%#v) = %v, %v; want %s", tc.in, n, exc, tc.want)
		case tc.want == "" && (exc == nil || exc.Message != tc.msg):
			t.Errorf("int(%#v) error = %v; want %q", tc.in, exc, tc.msg)
		}
	}
}

func TestPyFloatConv(t *testing.T) {
	good := map[string]float64{"1e3": 1000, " inf ": math.Inf(1), "1_0.5": 10.5, ".5": 0.5, "5.": 5,
		"-Infinity": math.Inf(-1), "1E+2": 100, "1e1_0": 1e10}
	for s, want := range good {
		if got, exc := pyFloatConv(s); exc != nil || got != want {
			t.Errorf("float(%q) = %v, %v; want %v", s, got, exc, want)
		}
	}
	if f, exc := pyFloatConv("nan"); exc != nil || !math.IsNaN(f) {
		t.Errorf("float('nan') = %v, %v", f, exc)
	}
	for _, s := range []string{"0x10", "1e", ".", "infinit", "1e+-5", "1_", "abc", "--1"} {
		if _, exc := pyFloatConv(s); exc == nil || exc.Message != "could not convert string to float: "+comfyjson.ReprString(s) {
			t.Errorf("float(%q) error = %v", s, exc)
		}
	}
	if _, exc := pyFloatConv(json.Number("1" + strings.Repeat("0", 309))); exc == nil || exc.Type != "OverflowError" {
		t.Errorf("float(10**309) error = %v", exc)
	}
}

func TestPyEqualAndLess(t *testing.T) {
	if !pyEqual(json.Number("2"), json.Number("2.0")) || !pyEqual(true, json.Number("1")) || pyEqual("1", json.Number("1")) {
		t.Error("numeric equality across int, float and bool")
	}
	if less, exc := pyLess(json.Number("5"), json.Number("5.5"), "<"); exc != nil || !less {
		t.Error("5 < 5.5")
	}
	if _, exc := pyCompare("a", json.Number("1"), ">"); exc == nil ||
		exc.Message != "'>' not supported between instances of 'str' and 'int'" {
		t.Errorf("str > int error = %v", exc)
	}
	if less, _ := pyLess(math.NaN(), json.Number("1"), "<"); less {
		t.Error("nan < 1")
	}
}
