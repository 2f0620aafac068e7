package comfyjson

import (
	"encoding/json"
	"math"
	"testing"
)

// The expected texts below are what CPython 3.11 prints for the same
// values: repr(f) and json.dumps(f).

func TestFloatRepr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       float64
		repr     string
		dumps    string
		encoding string // Float's MarshalJSON: valid JSON in place of Infinity and NaN
	}{
		{"zero", 0, "0.0", "0.0", "0.0"},
		{"negative zero", math.Copysign(0, -1), "-0.0", "-0.0", "-0.0"},
		{"integral", 1, "1.0", "1.0", "1.0"},
		{"negative fraction", -2.5, "-2.5", "-2.5", "-2.5"},
		{"shortest digits", 0.1, "0.1", "0.1", "0.1"},
		{"rounding shows", 0.30000000000000004, "0.30000000000000004", "0.30000000000000004", "0.30000000000000004"},
		{"upload limit", 104857600, "104857600.0", "104857600.0", "104857600.0"},
		{"last positional", 1e15, "1000000000000000.0", "1000000000000000.0", "1000000000000000.0"},
		{"just below 1e16", 9999999999999998, "9999999999999998.0", "9999999999999998.0", "9999999999999998.0"},
		{"first scientific", 1e16, "1e+16", "1e+16", "1e+16"},
		{"scientific with digits", 123456789012345678, "1.2345678901234568e+17", "1.2345678901234568e+17", "1.2345678901234568e+17"},
		{"three-digit exponent", 1.5e300, "1.5e+300", "1.5e+300", "1.5e+300"},
		{"largest", math.MaxFloat64, "1.7976931348623157e+308", "1.7976931348623157e+308", "1.7976931348623157e+308"},
		{"smallest positional", 0.0001, "0.0001", "0.0001", "0.0001"},
		{"first small scientific", 0.00001, "1e-05", "1e-05", "1e-05"},
		{"small with digits", 1.25e-7, "1.25e-07", "1.25e-07", "1.25e-07"},
		{"denormal", 5e-324, "5e-324", "5e-324", "5e-324"},
		{"plain", 123456.789, "123456.789", "123456.789", "123456.789"},
		{"integral small", 8, "8.0", "8.0", "8.0"},
		{"long positional", 123456789.123, "123456789.123", "123456789.123", "123456789.123"},
		{"small scientific", 2.5e-7, "2.5e-07", "2.5e-07", "2.5e-07"},
		{"negative", -12.5, "-12.5", "-12.5", "-12.5"},
		{"infinity", math.Inf(1), "inf", "Infinity", "1e999"},
		{"negative infinity", math.Inf(-1), "-inf", "-Infinity", "-1e999"},
		{"nan", math.NaN(), "nan", "NaN", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FloatRepr(tt.in); got != tt.repr {
				t.Errorf("FloatRepr = %q, want %q", got, tt.repr)
			}
			if got := Repr(tt.in); got != tt.repr {
				t.Errorf("Repr = %q, want %q", got, tt.repr)
			}
			if got := FloatJSON(tt.in); got != tt.dumps {
				t.Errorf("FloatJSON = %q, want %q", got, tt.dumps)
			}
			if got, _ := Float(tt.in).MarshalJSON(); string(got) != tt.encoding {
				t.Errorf("Float.MarshalJSON = %s, want %s", got, tt.encoding)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	// dumps is json.dumps(json.loads(lit)) (with ±1e999 for Python's
	// Infinity tokens), repr is repr(json.loads(lit)).
	tests := []struct {
		name, lit, dumps, repr string
	}{
		{"zero", "0", "0", "0"},
		{"negative zero int", "-0", "0", "0"},
		{"int", "42", "42", "42"},
		{"beyond int64", "18446744073709551615", "18446744073709551615", "18446744073709551615"},
		{"integral float", "10.0", "10.0", "10.0"},
		{"exponent makes a float", "1e2", "100.0", "100.0"},
		{"capital exponent", "1E+2", "100.0", "100.0"},
		{"trailing zero", "1.50", "1.5", "1.5"},
		{"negative zero float", "-0.0", "-0.0", "-0.0"},
		{"small", "1e-7", "1e-07", "1e-07"},
		{"go's positional small", "0.000001", "1e-06", "1e-06"},
		{"overflow", "1e999", "1e999", "inf"},
		{"negative overflow", "-1e999", "-1e999", "-inf"},
		{"underflow", "1e-999", "0.0", "0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Number(tt.lit); string(got) != tt.dumps {
				t.Errorf("Number(%s) = %s, want %s", tt.lit, got, tt.dumps)
			}
			if got := Repr(json.Number(tt.lit)); got != tt.repr {
				t.Errorf("Repr(%s) = %s, want %s", tt.lit, got, tt.repr)
			}
			if got := Repr(Number(tt.lit)); got != tt.repr {
				t.Errorf("Repr(Number(%s)) = %s, want %s", tt.lit, got, tt.repr)
			}
		})
	}
}
