package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
)

// FuzzDecodeSubmit feeds the POST /v1/jobs body decoder arbitrary bytes:
// it must never panic, every refusal must be a 4xx naming a field, and
// what it accepts must satisfy the request's invariants.
func FuzzDecodeSubmit(f *testing.F) {
	for _, seed := range []string{
		`{"workflow":"txt2img","params":{"seed":18446744073709551615}}`,
		`{"prompt":{"3":{"class_type":"KSampler","inputs":{}}},"priority":-100}`,
		`{"workflow":"a","overrides":{"3":{"inputs":{"x":1}}},"webhook":"https://h/x"}`,
		`{"prompt":null}`, `{"prompt":  {}}`, `[]`, `null`, ``, `{"x":1}`, `{"priority":1e400}`,
		`{"workflow":"a","version":"v"} {}`, `{"workflow":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeSubmit(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Field == "" || e.Message == "" {
				t.Fatalf("refusal %v is not a 400 naming a field", err)
			}
			return
		}
		if (req.Workflow == "") == (len(req.Prompt) == 0) {
			t.Fatalf("accepted without exactly one of workflow and prompt: %+v", req)
		}
		if req.Priority < api.MinPriority || req.Priority > api.MaxPriority {
			t.Fatalf("accepted priority %d", req.Priority)
		}
		if req.Workflow != "" && !nameRE.MatchString(req.Workflow) {
			t.Fatalf("accepted workflow name %q", req.Workflow)
		}
	})
}

// FuzzParseEventID: no panic; accepted ids are canonical and parse to
// themselves, so what the service receives is always well-formed.
func FuzzParseEventID(f *testing.F) {
	for _, seed := range []string{"", "0", "12", "12.3", "007.010", "1.2.3", "-1", "+1", " 1", "9223372036854775807", "9223372036854775808", "1.", ".1", "１２"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseEventID(s)
		if err != nil {
			if id != "" {
				t.Fatalf("error with id %q", id)
			}
			return
		}
		if again, err := parseEventID(id); err != nil || again != id {
			t.Fatalf("%q -> %q is not canonical (%q, %v)", s, id, again, err)
		}
		if strings.Trim(id, "0123456789.") != "" || strings.Count(id, ".") > 1 {
			t.Fatalf("%q -> %q has odd characters", s, id)
		}
	})
}

func TestParseEventID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true}, {"5", "5", true}, {"05.01", "5.1", true}, {"9223372036854775807", "9223372036854775807", true},
		{"9223372036854775808", "", false}, {"1.2.3", "", false}, {"a", "", false}, {"-1", "", false}, {"1.", "", false}, {" 1", "", false},
	}
	for _, tt := range tests {
		got, err := parseEventID(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseEventID(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
