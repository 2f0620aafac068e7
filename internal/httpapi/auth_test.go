package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
)

func TestAuthenticatorOffIsNil(t *testing.T) {
	t.Parallel()
	if httpapi.Authenticator(nil) != nil {
		t.Fatal("Authenticator(nil) is not nil; the callback surfaces read nil as authentication off")
	}
}

// TestAuthenticatorAgreesWithREST checks the callback surfaces' key check
// against the REST API's own on the same requests: one set of rules.
func TestAuthenticatorAgreesWithREST(t *testing.T) {
	t.Parallel()
	keys := []httpapi.APIKey{
		{ID: "alice", Hash: httpapi.HashKey("alice-key")},
		{ID: "bob", Hash: httpapi.HashKey("bob-key"), Admin: true},
	}
	tests := []struct {
		name      string
		hdr       []string
		wantOwner string
		wantErr   string
	}{
		{name: "bearer", hdr: []string{"Authorization", "Bearer bob-key"}, wantOwner: "bob"},
		{name: "bearer any case", hdr: []string{"Authorization", "bEaReR alice-key"}, wantOwner: "alice"},
		{name: "bearer spaces trimmed", hdr: []string{"Authorization", "Bearer   alice-key  "}, wantOwner: "alice"},
		{name: "x-api-key", hdr: []string{"X-API-Key", "alice-key"}, wantOwner: "alice"},
		{name: "x-api-key trimmed", hdr: []string{"X-API-Key", " bob-key "}, wantOwner: "bob"},
		{name: "missing", wantErr: "missing API key: send Authorization: Bearer <key> or X-API-Key"},
		{name: "empty x-api-key", hdr: []string{"X-API-Key", "  "}, wantErr: "missing API key: send Authorization: Bearer <key> or X-API-Key"},
		{name: "unknown", hdr: []string{"Authorization", "Bearer nope"}, wantErr: "unknown API key"},
		{name: "basic is not a key", hdr: []string{"Authorization", "Basic YWxpY2Uta2V5"}, wantErr: "missing API key: send Authorization: Bearer <key> or X-API-Key"},
		{name: "authorization wins over x-api-key", hdr: []string{"Authorization", "Basic x", "X-API-Key", "alice-key"}, wantErr: "missing API key: send Authorization: Bearer <key> or X-API-Key"},
		{name: "key is case-sensitive", hdr: []string{"X-API-Key", "ALICE-KEY"}, wantErr: "unknown API key"},
	}
	auth := httpapi.Authenticator(keys)
	_, ts := start(t, ownerService(), httpapi.Config{APIKeys: keys})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/prompt", nil)
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				r.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			owner, err := auth(r)
			if got := errString(err); owner != tt.wantOwner || got != tt.wantErr {
				t.Fatalf("Authenticator = %q, %q; want %q, %q", owner, got, tt.wantOwner, tt.wantErr)
			}

			res := do(t, ts, "GET", "/v1/jobs/j", nil, tt.hdr...)
			if tt.wantErr != "" {
				if res.status != http.StatusUnauthorized {
					t.Fatalf("REST status %d, want 401; body %s", res.status, res.body)
				}
				if e := errorOf(t, res); e.Message != tt.wantErr {
					t.Errorf("REST message %q, want %q", e.Message, tt.wantErr)
				}
				return
			}
			if res.status != http.StatusOK {
				t.Fatalf("REST status %d, want 200; body %s", res.status, res.body)
			}
			if got := decode[api.Job](t, res).Workflow; got != tt.wantOwner {
				t.Errorf("REST owner %q, want %q", got, tt.wantOwner)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
