package main

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/peterbourgon/ff/v4"
)

// TestCORSOriginFlag: --cors-origin repeats, and COMFYGATE_CORS_ORIGIN
// takes a comma-separated list; both reach the server's config.
func TestCORSOriginFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want []string
	}{
		{name: "none", want: nil},
		{name: "repeated", args: []string{"--cors-origin", "https://app.example.com", "--cors-origin", "*"}, want: []string{"https://app.example.com", "*"}},
		{name: "environment", env: "https://a.example.com, https://*.b.example.com", want: []string{"https://a.example.com", "https://*.b.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("COMFYGATE_CORS_ORIGIN", tc.env)
			f, fs := newServeFlags("serve", serveDefaults())
			cmd := &ff.Command{Name: "serve", Flags: fs}
			if err := cmd.Parse(tc.args, ff.WithEnvVarPrefix("COMFYGATE")); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.serverConfig(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cfg.CORSOrigins); diff != "" {
				t.Errorf("CORSOrigins (-want +got):\n%s", diff)
			}
		})
	}
}
