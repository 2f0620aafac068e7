package server

import (
	"bytes"
	"encoding/json"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	_ "image/jpeg"

	"github.com/comfygate/comfygate/api"
)

// TestOutputsInlineAndFormatted: a job that asks for JPEG outputs inline
// gets them, re-encoded when stored, in the ?wait= answer and in its
// job.succeeded webhook.
func TestOutputsInlineAndFormatted(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		msgs []api.WebhookMessage
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m api.WebhookMessage
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	s := startServer(t, Config{SimBackends: 1, Examples: true, AllowLoopbackURLs: true})
	c := client(t)
	waitReady(t, c, s)
	body := `{"workflow":"txt2img","params":{"steps":1,"width":96,"height":64},"webhook":"` + rcv.URL +
		`","outputs":{"format":"jpeg","quality":60,"inline":true}}`
	code, resp := post(t, c, s.URL()+"/v1/jobs?wait=60s", body)
	var j api.Job
	if err := json.Unmarshal(resp, &j); err != nil || code != http.StatusCreated || j.State != api.StateSucceeded {
		t.Fatalf("submit: %d %s", code, resp)
	}
	checkJPEG := func(where string, outs []api.Output) {
		t.Helper()
		if len(outs) == 0 {
			t.Fatalf("%s: no outputs", where)
		}
		o := outs[0]
		cfg, format, err := image.DecodeConfig(bytes.NewReader(o.Data))
		if err != nil || format != "jpeg" || cfg.Width != 96 || o.ContentType != "image/jpeg" || !strings.HasSuffix(o.Filename, ".jpg") || int64(len(o.Data)) != o.Size {
			t.Errorf("%s: output %s %s (%d bytes inline, size %d) decodes as %s %d wide (%v); want a 96-wide JPEG inline",
				where, o.Filename, o.ContentType, len(o.Data), o.Size, format, cfg.Width, err)
		}
	}
	checkJPEG("?wait= answer", j.Outputs)
	if j.Webhook != rcv.URL {
		t.Errorf("job view webhook %q, want %q", j.Webhook, rcv.URL)
	}
	if !poll(func() bool { mu.Lock(); defer mu.Unlock(); return len(msgs) == 1 }) {
		t.Fatal("no webhook")
	}
	mu.Lock()
	m := msgs[0]
	mu.Unlock()
	if m.Type != api.WebhookSucceeded || m.Data.ID != j.ID {
		t.Fatalf("webhook %s for %s, want job.succeeded for %s", m.Type, m.Data.ID, j.ID)
	}
	checkJPEG("webhook", m.Data.Outputs)

	code, resp = post(t, c, s.URL()+"/v1/jobs", `{"workflow":"txt2img","outputs":{"format":"webp","quality":80}}`)
	if code != http.StatusBadRequest || !strings.Contains(string(resp), "outputs.quality") {
		t.Errorf("webp with a quality: %d %s, want 400 naming outputs.quality", code, resp)
	}
	code, resp = post(t, c, s.URL()+"/v1/jobs", `{"workflow":"txt2img","webhook":"http://10.0.0.7/hook"}`)
	if code != http.StatusBadRequest || !strings.Contains(string(resp), "private address") || !strings.Contains(string(resp), `"field":"webhook"`) {
		t.Errorf("webhook to a private address: %d %s, want 400 on field webhook", code, resp)
	}
}

// TestGeneratedSecretIsKept: without --webhook-secret the server signs with
// a secret it generates once and keeps in its database, shown to admins.
func TestGeneratedSecretIsKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretOf := func() api.WebhookSecret {
		s := startServer(t, Config{DataDir: dir})
		code, body := get(t, client(t), s.URL()+"/v1/webhooks/secret")
		var sec api.WebhookSecret
		if err := json.Unmarshal(body, &sec); err != nil || code != http.StatusOK {
			t.Fatalf("GET /v1/webhooks/secret: %d %s", code, body)
		}
		if err := s.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		return sec
	}
	first, second := secretOf(), secretOf()
	if !first.Generated || !strings.HasPrefix(first.Secret, "whsec_") || first != second {
		t.Errorf("secrets %+v then %+v, want one generated whsec_ secret kept across restarts", first, second)
	}
	s := startServer(t, Config{DataDir: t.TempDir(), WebhookSecrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	_, body := get(t, client(t), s.URL()+"/v1/webhooks/secret")
	if !strings.Contains(string(body), `"generated":false`) || !strings.Contains(string(body), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
		t.Errorf("configured secret: %s", body)
	}
}
