package comfywire

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

func TestReadJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    any
		notJSON bool  // a failure handlers may catch (json.JSONDecodeError)
		err     error // a failure no handler catches
	}{
		{"object in order", `{"b": 1, "a": null}`, comfyjson.Object{{Key: "b", Value: json.Number("1")}, {Key: "a"}}, false, nil},
		{"empty body", ``, nil, true, nil},
		{"truncated", `{"a":`, nil, true, nil},
		{"trailing data", `{}]`, nil, true, nil},
		{"not UTF-8", "\"\xff\"", nil, false, comfyjson.ErrInvalidUTF8},
		{"over the limit", strings.Repeat(" ", 65) + "1", nil, false, ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.body))
			v, err := ReadJSON(r, 64)
			if got := errors.Is(err, ErrNotJSON); got != tt.notJSON {
				t.Fatalf("errors.Is(%v, ErrNotJSON) = %v, want %v", err, got, tt.notJSON)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.notJSON || tt.err != nil {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
