package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestHandlerVerifies(t *testing.T) {
	t.Parallel()
	wh, _ := standardwebhooks.NewWebhook(secret)
	body := `{"type":"job.succeeded","timestamp":"2026-01-01T00:00:00Z","data":{"id":"j1","state":"succeeded","outputs":[{}]}}`
	now := time.Now()
	sig, _ := wh.Sign("msg_1", now, []byte(body))
	tests := []struct {
		name, body, sig string
		want            int
		print           string
	}{
		{"signed", body, sig, http.StatusNoContent, "job.succeeded succeeded: job j1, 1 outputs (signature verified, webhook-id msg_1)"},
		{"tampered", strings.Replace(body, "j1", "j2", 1), sig, http.StatusBadRequest, "refused a request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			h, err := newHandler(secret, &out)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(tt.body))
			req.Header.Set("webhook-id", "msg_1")
			req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			req.Header.Set("webhook-signature", tt.sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want || !strings.Contains(out.String(), tt.print) {
				t.Errorf("status %d, printed %q; want %d and %q", rec.Code, out.String(), tt.want, tt.print)
			}
		})
	}
}
