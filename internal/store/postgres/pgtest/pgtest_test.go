package pgtest

import (
	"errors"
	"fmt"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name         string
		ci           string
		err          error
		skip, failed bool
	}{
		{"missing locally", "", ErrNoPostgres, true, false},
		{"missing in CI", "true", fmt.Errorf("start: %w", ErrNoPostgres), false, true},
		{"broken locally", "", errors.New("initdb failed"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			Unavailable(r, tt.err)
			if r.skipped != tt.skip || r.failed != tt.failed {
				t.Errorf("skipped %v failed %v, want %v %v", r.skipped, r.failed, tt.skip, tt.failed)
			}
		})
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := map[string]string{
		"postgres://u@h:5/db?sslmode=disable": "postgres://u@h:5/db?search_path=s1&sslmode=disable",
		"host=h port=5 dbname=db":             "host=h port=5 dbname=db search_path=s1",
	}
	for in, want := range tests {
		got, err := withSearchPath(in, "s1")
		if err != nil || got != want {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
