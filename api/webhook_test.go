package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
)

func TestWebhookSpecForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     api.WebhookSpec
		wantErr  string
	}{
		{"url", `"https://h/x"`, api.WebhookSpec{URL: "https://h/x"}, ""},
		{"object", `{"url": "https://h/x", "events": ["job.started"]}`, api.WebhookSpec{URL: "https://h/x", Events: []string{"job.started"}}, ""},
		{"unknown field", `{"url": "https://h/x", "secret": "x"}`, api.WebhookSpec{}, "unknown field"},
		{"number", `5`, api.WebhookSpec{}, "want a URL string or an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got api.WebhookSpec
			err := json.Unmarshal([]byte(tt.in), &got)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Unmarshal(%s) error %v, want %q", tt.in, err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); err == nil && d != "" {
				t.Errorf("Unmarshal(%s) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}
