package comfyapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
)

// extraKey is comfygate's own key in extra_data: ComfyUI reads client_id,
// extra_pnginfo, create_time, preview_method, comfy_usage_source and the
// Comfy.org credentials, and nothing under this name. It holds
// {"webhook": "<url>"} or {"webhook": {"url": ..., "events": [...]}}.
const extraKey = "comfygate"

// promptWebhook is what a prompt asked of comfygate in extra_data.
type promptWebhook struct {
	URL    string
	Events []string
}

// takeWebhook removes comfygate's key from extra_data, so it neither
// reaches the backend nor shows in /queue or /history (a webhook URL may
// carry a token), and returns the webhook it asked for.
func takeWebhook(extra json.RawMessage, check func(string) error) (json.RawMessage, promptWebhook, error) {
	var m map[string]json.RawMessage
	if len(extra) == 0 || json.Unmarshal(extra, &m) != nil {
		return extra, promptWebhook{}, nil
	}
	raw, ok := m[extraKey]
	if !ok {
		return extra, promptWebhook{}, nil
	}
	delete(m, extraKey)
	rest, err := json.Marshal(m)
	if err != nil {
		return extra, promptWebhook{}, err
	}
	var opts struct {
		Webhook json.RawMessage `json:"webhook"`
	}
	if err := json.Unmarshal(raw, &opts); err != nil {
		return rest, promptWebhook{}, fmt.Errorf("extra_data.%s: want an object {\"webhook\": ...}", extraKey)
	}
	w, err := parseWebhook(opts.Webhook)
	if err == nil && w.URL != "" && check != nil {
		err = check(w.URL)
	}
	if err != nil {
		return rest, promptWebhook{}, fmt.Errorf("extra_data.%s.webhook: %w", extraKey, err)
	}
	return rest, w, nil
}

// parseWebhook reads a URL string or {url, events}.
func parseWebhook(raw json.RawMessage) (promptWebhook, error) {
	var w promptWebhook
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return w, nil
	}
	if raw[0] == '"' {
		err := json.Unmarshal(raw, &w.URL)
		return w, err
	}
	var obj struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.URL == "" {
		return w, fmt.Errorf("want a URL or {\"url\": ..., \"events\": [...]}")
	}
	for i, e := range obj.Events {
		if !job.ValidWebhookType(e) {
			return w, fmt.Errorf("events: unknown type %q", e)
		}
		for _, prev := range obj.Events[:i] {
			if prev == e {
				return w, fmt.Errorf("events: %q is listed twice", e)
			}
		}
	}
	return promptWebhook{URL: obj.URL, Events: obj.Events}, nil
}
