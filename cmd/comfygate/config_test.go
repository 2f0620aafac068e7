package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/internal/server"
)

// settings is the part of server.Config the precedence rules decide.
type settings struct {
	Listen, Data string
	Backends     []server.BackendConfig
	Sims         int
	MaxAttempts  int
	Keys         []string
}

// parseServe parses serve's command line as main does, with env set.
func parseServe(t *testing.T, args []string, env map[string]string) (settings, error) {
	t.Helper()
	cfg, err := parseServeConfig(t, args, env)
	if err != nil {
		return settings{}, err
	}
	s := settings{Listen: cfg.Listen, Data: cfg.DataDir, Backends: cfg.Backends, Sims: cfg.SimBackends, MaxAttempts: cfg.MaxAttempts}
	for _, k := range cfg.APIKeys {
		s.Keys = append(s.Keys, k.ID)
	}
	return s, nil
}

// parseServeConfig parses serve's command line as main does, with env set,
// into the whole server.Config.
func parseServeConfig(t *testing.T, args []string, env map[string]string) (server.Config, error) {
	t.Helper()
	for _, name := range []string{"LISTEN", "DATA", "BACKEND", "SIM", "MAX_ATTEMPTS", "API_KEY", "CONFIG", "LOG_LEVEL", "LOG_FORMAT",
		"MAX_CRASH_RETRIES", "STALL_TIMEOUT"} {
		t.Setenv("COMFYGATE_"+name, "") // ff ignores empty variables
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	f, fs := newServeFlags("serve", serveDefaults())
	cmd := &ff.Command{Name: "serve", Flags: fs}
	if err := cmd.Parse(args, ff.WithEnvVarPrefix("COMFYGATE")); err != nil {
		return server.Config{}, err
	}
	return f.serverConfig(io.Discard)
}

func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const yamlConfig = `
listen: 127.0.0.1:9001
data: /var/lib/from-file
backend:
  - http://file-a:8188
  - gpu=http://file-b:8188
sim: 1
max-attempts: 5
api-key: ["ops:0123456789abcdef-from-file"]
`

const jsonConfig = `{"listen": "127.0.0.1:9002", "backend": ["http://json:8188"], "max-attempts": 4}`

func TestServeConfigPrecedence(t *testing.T) {
	yamlFile := writeConfig(t, "comfygate.yaml", yamlConfig)
	jsonFile := writeConfig(t, "comfygate.json", jsonConfig)
	fileBackends := []server.BackendConfig{{URL: "http://file-a:8188"}, {ID: "gpu", URL: "http://file-b:8188"}}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want settings
	}{
		{
			name: "defaults",
			want: settings{Listen: "127.0.0.1:8080", Data: "./comfygate-data", MaxAttempts: 3},
		},
		{
			name: "flags",
			args: []string{"--listen", ":7000", "--data", "d", "--backend", "http://a:1", "--backend", "b=http://b:2,http://c:3", "--sim", "2", "--max-attempts", "9"},
			want: settings{Listen: ":7000", Data: "d", Sims: 2, MaxAttempts: 9,
				Backends: []server.BackendConfig{{URL: "http://a:1"}, {ID: "b", URL: "http://b:2"}, {URL: "http://c:3"}}},
		},
		{
			name: "backend options",
			args: []string{"--backend", "http://a:1,output_dir=/srv/comfy/output", "--backend", "b=http://b:2"},
			env:  map[string]string{"COMFYGATE_BACKEND": "http://env:1"},
			want: settings{Listen: "127.0.0.1:8080", Data: "./comfygate-data", MaxAttempts: 3,
				Backends: []server.BackendConfig{{URL: "http://a:1", OutputDir: "/srv/comfy/output"}, {ID: "b", URL: "http://b:2"}}},
		},
		{
			name: "backend options from env",
			env:  map[string]string{"COMFYGATE_BACKEND": "gpu=http://env-a:1,output_dir=/out,http://env-b:2"},
			want: settings{Listen: "127.0.0.1:8080", Data: "./comfygate-data", MaxAttempts: 3,
				Backends: []server.BackendConfig{{ID: "gpu", URL: "http://env-a:1", OutputDir: "/out"}, {URL: "http://env-b:2"}}},
		},
		{
			name: "yaml file",
			args: []string{"--config", yamlFile},
			want: settings{Listen: "127.0.0.1:9001", Data: "/var/lib/from-file", Backends: fileBackends, Sims: 1, MaxAttempts: 5, Keys: []string{"ops"}},
		},
		{
			name: "json file",
			args: []string{"--config", jsonFile},
			want: settings{Listen: "127.0.0.1:9002", Data: "./comfygate-data", Backends: []server.BackendConfig{{URL: "http://json:8188"}}, MaxAttempts: 4},
		},
		{
			name: "env over file",
			args: []string{"--config", yamlFile},
			env:  map[string]string{"COMFYGATE_LISTEN": "127.0.0.1:9100", "COMFYGATE_BACKEND": "http://env-a:1,http://env-b:2"},
			want: settings{Listen: "127.0.0.1:9100", Data: "/var/lib/from-file", Sims: 1, MaxAttempts: 5, Keys: []string{"ops"},
				Backends: []server.BackendConfig{{URL: "http://env-a:1"}, {URL: "http://env-b:2"}}},
		},
		{
			name: "flags over env over file",
			args: []string{"--config", yamlFile, "--listen", "127.0.0.1:9200", "--backend", "http://flag:1"},
			env:  map[string]string{"COMFYGATE_LISTEN": "127.0.0.1:9100", "COMFYGATE_BACKEND": "http://env:1", "COMFYGATE_DATA": "/env"},
			want: settings{Listen: "127.0.0.1:9200", Data: "/env", Sims: 1, MaxAttempts: 5, Keys: []string{"ops"},
				Backends: []server.BackendConfig{{URL: "http://flag:1"}}},
		},
		{
			name: "config file named by env",
			env:  map[string]string{"COMFYGATE_CONFIG": jsonFile, "COMFYGATE_MAX_ATTEMPTS": "2"},
			want: settings{Listen: "127.0.0.1:9002", Data: "./comfygate-data", Backends: []server.BackendConfig{{URL: "http://json:8188"}}, MaxAttempts: 2},
		},
		{
			name: "api keys from env",
			env:  map[string]string{"COMFYGATE_API_KEY": "alice:alice-secret-0123456789,bob:sha256:" + strings.Repeat("ab", 32)},
			want: settings{Listen: "127.0.0.1:8080", Data: "./comfygate-data", MaxAttempts: 3, Keys: []string{"alice", "bob"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServe(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"unknown key in the file", []string{"--config", writeConfig(t, "c.yaml", "listn: x\n")}, "listn"},
		{"missing file", []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
		{"malformed file", []string{"--config", writeConfig(t, "c.yaml", "listen: [\n")}, "config"},
		{"api key without id", []string{"--api-key", "0123456789abcdef0123"}, "id:key"},
		{"short api key", []string{"--api-key", "ops:short"}, "16 characters"},
		{"bad sha256 key", []string{"--api-key", "ops:sha256:abc"}, "hex"},
		{"bad log format", []string{"--log-format", "xml"}, "log-format"},
		{"bad number", []string{"--sim", "two"}, "sim"},
		{"backend option without a backend", []string{"--backend", "output_dir=/srv/out"}, "must follow a URL"},
		{"relative output dir", []string{"--backend", "http://a:1,output_dir=out"}, "absolute"},
		{"negative crash retries", []string{"--max-crash-retries", "-1"}, "max-crash-retries"},
		{"zero stall timeout", []string{"--stall-timeout", "0s"}, "stall-timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServe(t, tc.args, nil)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want an error mentioning %q", err, tc.mention)
			}
		})
	}
}

// TestServeFaultSettings: the crash and stall limits reach server.Config
// from flags, environment and file; 0 crash retries means none.
func TestServeFaultSettings(t *testing.T) {
	type limits struct {
		MaxCrashRetries int
		StallTimeout    time.Duration
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want limits
	}{
		{"defaults", nil, nil, limits{server.DefaultMaxCrashRetries, server.DefaultStallTimeout}},
		{"flags", []string{"--max-crash-retries", "3", "--stall-timeout", "15m"}, nil, limits{3, 15 * time.Minute}},
		{"zero retries is none", []string{"--max-crash-retries", "0"}, nil, limits{server.NoCrashRetries, server.DefaultStallTimeout}},
		{"environment", nil, map[string]string{"COMFYGATE_MAX_CRASH_RETRIES": "2", "COMFYGATE_STALL_TIMEOUT": "5s"}, limits{2, 5 * time.Second}},
		{"file", []string{"--config", writeConfig(t, "c.yaml", "stall-timeout: 90s\nmax-crash-retries: 4\n")}, nil, limits{4, 90 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServeConfig(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := (limits{cfg.MaxCrashRetries, cfg.StallTimeout}); got != tc.want {
				t.Errorf("limits = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestServeRequestLimits: the request limits reach server.Config from
// flags, environment and file, in MiB, durations and bytes a second.
func TestServeRequestLimits(t *testing.T) {
	def := server.RequestLimits{MaxPromptBytes: server.DefaultMaxPromptBytes, MaxInFlightBytes: server.DefaultMaxInFlightBytes,
		ReadHeaderTimeout: server.DefaultReadHeaderTimeout, BodyTimeout: server.DefaultBodyTimeout, MinBodyRate: server.DefaultMinBodyRate}
	with := func(f func(*server.RequestLimits)) server.RequestLimits {
		l := def
		f(&l)
		return l
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want server.RequestLimits
	}{
		{"defaults", nil, nil, def},
		{"flags", []string{"--max-prompt-mb", "4", "--max-inflight-mb", "32", "--body-timeout", "5s", "--min-body-rate", "1000", "--read-header-timeout", "3s"}, nil,
			server.RequestLimits{MaxPromptBytes: 4 << 20, MaxInFlightBytes: 32 << 20, ReadHeaderTimeout: 3 * time.Second, BodyTimeout: 5 * time.Second, MinBodyRate: 1000}},
		{"environment", nil, map[string]string{"COMFYGATE_MAX_PROMPT_MB": "2", "COMFYGATE_BODY_TIMEOUT": "1m"},
			with(func(l *server.RequestLimits) { l.MaxPromptBytes, l.BodyTimeout = 2<<20, time.Minute })},
		{"file", []string{"--config", writeConfig(t, "c.yaml", "min-body-rate: 4096\nmax-inflight-mb: 128\n")}, nil,
			with(func(l *server.RequestLimits) { l.MinBodyRate, l.MaxInFlightBytes = 4096, 128<<20 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServeConfig(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Limits != tc.want {
				t.Errorf("limits = %+v, want %+v", cfg.Limits, tc.want)
			}
		})
	}
}
