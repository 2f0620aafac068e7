package server

import (
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/httpapi"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{Backends: []BackendConfig{{URL: "http://a:1"}, {ID: "gpu", URL: "http://b:2"}, {URL: "http://c:3"}}}.withDefaults()
	if c.Listen != "127.0.0.1:8080" || c.DataDir != "./comfygate-data" || c.ShutdownTimeout != DefaultShutdownTimeout || c.Logger == nil {
		t.Fatalf("defaults = %+v", c)
	}
	var ids []string
	for _, b := range c.Backends {
		ids = append(ids, b.ID)
	}
	if strings.Join(ids, ",") != "backend-1,gpu,backend-3" {
		t.Fatalf("backend ids %v, want backend-1,gpu,backend-3", ids)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		mention string
	}{
		{"listen without port", Config{Listen: "localhost"}, "listen"},
		{"backend without scheme", Config{Backends: []BackendConfig{{URL: "gpu:8188"}}}, "backends[0]"},
		{"backend with another scheme", Config{Backends: []BackendConfig{{URL: "ftp://gpu:8188"}}}, "http(s)"},
		{"duplicate backend id", Config{Backends: []BackendConfig{{ID: "a", URL: "http://x:1"}, {ID: "a", URL: "http://y:1"}}}, "duplicate id"},
		{"backend id taken by simulators", Config{SimBackends: 1, Backends: []BackendConfig{{ID: "sim-1", URL: "http://x:1"}}}, "simulators"},
		{"negative sims", Config{SimBackends: -1}, "negative"},
		{"database of another kind", Config{Database: "mysql://db/comfygate"}, "postgres://"},
		{"database with an empty sqlite path", Config{Database: "sqlite:"}, "file path"},
		{"simulators on a shared database", Config{SimBackends: 1, Database: "postgres://db/comfygate"}, "comfygate sim"},
		{"negative body timeout", Config{Limits: RequestLimits{BodyTimeout: -time.Second}}, "request limits"},
		{"in-flight bytes below one prompt", Config{Limits: RequestLimits{MaxPromptBytes: 32 << 20, MaxInFlightBytes: 16 << 20}}, "in-flight"},
		{"proxy prefix with dot segments", Config{ProxyAllow: []string{"/a/../sim"}}, "proxy prefix"},
		{"proxy prefix of everything", Config{ProxyAllow: []string{"/"}}, "every backend route"},
		{"proxy prefix under /api", Config{ProxyAllow: []string{"/api/x"}}, "no /api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.mention)
			}
		})
	}
}

func TestParseAPIKey(t *testing.T) {
	hexHash := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		in      string
		want    httpapi.APIKey
		wantErr string
	}{
		{in: "alice:correct-horse-battery", want: httpapi.APIKey{ID: "alice", Hash: httpapi.HashKey("correct-horse-battery")}},
		{in: "bob:sha256:" + hexHash, want: httpapi.APIKey{ID: "bob", Hash: filled(0x0f)}},
		{in: "key-with:colons:inside-it", want: httpapi.APIKey{ID: "key-with", Hash: httpapi.HashKey("colons:inside-it")}},
		{in: "ops:correct-horse-battery:admin", want: httpapi.APIKey{ID: "ops", Hash: httpapi.HashKey("correct-horse-battery"), Admin: true}},
		{in: "ops:sha256:" + hexHash + ":admin", want: httpapi.APIKey{ID: "ops", Hash: filled(0x0f), Admin: true}},
		{in: "ops:colons:inside-it:admin", want: httpapi.APIKey{ID: "ops", Hash: httpapi.HashKey("colons:inside-it"), Admin: true}},
		{in: "alice:correct-horse-admin", want: httpapi.APIKey{ID: "alice", Hash: httpapi.HashKey("correct-horse-admin")}},
		{in: "ops:admin", wantErr: "id:key"},
		{in: "ops:short:admin", wantErr: "16 characters"},
		{in: "no-colon-at-all-here", wantErr: "id:key"},
		{in: ":secret-secret-secret", wantErr: "id:key"},
		{in: "alice:", wantErr: "id:key"},
		{in: "alice:short", wantErr: "16 characters"},
		{in: "bob:sha256:xyz", wantErr: "hex digits"},
		{in: "bob:sha256:" + hexHash[:62], wantErr: "hex digits"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAPIKey(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseAPIKey = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseAPIKeyDoesNotEchoTheSecret(t *testing.T) {
	_, err := ParseAPIKey("alice:tooshort")
	if err == nil || strings.Contains(err.Error(), "tooshort") {
		t.Fatalf("err = %v: must not contain the key", err)
	}
}

func filled(b byte) (h [32]byte) {
	for i := range h {
		h[i] = b
	}
	return h
}

func TestParseDatabase(t *testing.T) {
	for _, tc := range []struct {
		in, engine, target string
	}{
		{"", engineSQLite, "data/comfygate.db"},
		{"jobs.db", engineSQLite, "jobs.db"},
		{"/var/lib/comfygate/jobs.db", engineSQLite, "/var/lib/comfygate/jobs.db"},
		{"sqlite:jobs.db", engineSQLite, "jobs.db"},
		{"sqlite:///var/lib/jobs.db", engineSQLite, "/var/lib/jobs.db"},
		{"postgres://u:p@db:5432/comfygate?pool_max_conns=20", enginePostgres, "postgres://u:p@db:5432/comfygate?pool_max_conns=20"},
		{"postgresql://db/comfygate", enginePostgres, "postgresql://db/comfygate"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			db, err := parseDatabase(tc.in, "data")
			if err != nil || db.engine != tc.engine || db.target != tc.target {
				t.Errorf("parseDatabase(%q) = %+v, %v; want %s %s", tc.in, db, err, tc.engine, tc.target)
			}
		})
	}
	_, err := parseDatabase("mysql://root:hunter2@db/x", "data")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func TestParseMetricsKey(t *testing.T) {
	if h, err := ParseMetricsKey("scraper-key-0123456"); err != nil || h != httpapi.HashKey("scraper-key-0123456") {
		t.Errorf("plain key: %x %v", h, err)
	}
	if h, err := ParseMetricsKey("sha256:" + strings.Repeat("0f", 32)); err != nil || h != filled(0x0f) {
		t.Errorf("hash form: %x %v", h, err)
	}
	for _, bad := range []string{"short", "sha256:abc", ""} {
		if _, err := ParseMetricsKey(bad); err == nil {
			t.Errorf("ParseMetricsKey(%q) accepted", bad)
		}
	}
}
