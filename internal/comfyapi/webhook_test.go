package comfyapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func TestPromptWebhookInExtraData(t *testing.T) {
	t.Parallel()
	refuse := func(url string) error {
		if strings.Contains(url, "10.0.0.1") {
			return errors.New("url: host 10.0.0.1 is a private address")
		}
		return nil
	}
	e := newEnv(t, envOptions{cfg: func(c *Config) { c.Gateway = policyGateway{Gateway: c.Gateway, check: refuse} }})
	hook := map[string]any{"url": "https://hooks.example.com/in?token=secret-token", "events": []string{"job.started", "job.succeeded"}}
	id := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(64, 64, "hook"), "client_id": "c1",
		"extra_data": map[string]any{"comfygate": map[string]any{"webhook": hook}, "extra_pnginfo": map[string]any{"workflow": 1}}}, nil)
	j, err := e.store.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Webhook != hook["url"] || !slices.Equal(j.WebhookEvents, []string{job.WebhookStarted, job.WebhookSucceeded}) {
		t.Errorf("job webhook %q events %v, want the extra_data's", j.Webhook, j.WebhookEvents)
	}
	if strings.Contains(string(j.ExtraData), "comfygate") || !strings.Contains(string(j.ExtraData), "extra_pnginfo") {
		t.Errorf("stored extra_data %s: want comfygate's key taken out (it is not the backend's) and the rest kept", j.ExtraData)
	}
	for _, path := range []string{"/queue", "/history/" + id, "/api/jobs/" + id} {
		if r := do(t, http.MethodGet, e.srv.URL+path, nil, nil); strings.Contains(string(r.body), "secret-token") {
			t.Errorf("GET %s shows the webhook URL: %s", path, r.body)
		}
	}
	tests := []struct {
		name    string
		hook    any
		details string
	}{
		{"refused address", "http://10.0.0.1/x", "private address"},
		{"unknown event", map[string]any{"url": "https://h/x", "events": []string{"job.done"}}, "unknown type"},
		{"not a url", 5, "want a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodPost, e.srv.URL+"/prompt", mustJSON(t, map[string]any{"prompt": imageGraph(64, 64, "bad"),
				"extra_data": map[string]any{"comfygate": map[string]any{"webhook": tt.hook}}}), nil)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "extra_data.comfygate.webhook") ||
				!strings.Contains(string(r.body), tt.details) {
				t.Errorf("POST /prompt: %d %s; want 400 naming extra_data.comfygate.webhook and %q", r.status, r.body, tt.details)
			}
		})
	}
}

func TestPublicExtraHidesComfygatesKey(t *testing.T) {
	t.Parallel()
	got := string(publicExtra([]byte(`{"comfygate":{"webhook":"https://h/x?token=t"},"client_id":"c"}`)))
	if got != `{"client_id":"c"}` {
		t.Errorf("publicExtra = %s", got)
	}
}

// policyGateway is the gateway with a URL policy of the test's.
type policyGateway struct {
	Gateway
	check func(string) error
}

func (g policyGateway) CheckWebhook(url string) error { return g.check(url) }
