package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/peterbourgon/ff/v4"
)

func TestParseRetain(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30d", 30 * day, false},
		{"1.5d", 36 * time.Hour, false},
		{"0d", 0, false},
		{"0", 0, false},
		{"36h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{" 7d ", 7 * day, false},
		{"", 0, true},
		{"d", 0, true},
		{"-1d", 0, true},
		{"-5h", 0, true},
		{"30days", 0, true},
		{"1e9d", 0, true},
		{"forever", 0, true},
		{"NaNd", 0, true},
		{"Infd", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseRetain(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseRetain(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "30d") {
				t.Errorf("error %q does not show the form to use", err)
			}
		})
	}
}

// TestServeRetainSetting reads --retain from the command line and the
// environment into the server's configuration.
func TestServeRetainSetting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     string
		want    time.Duration
		mention string // in the error, if one is wanted
	}{
		{name: "off by default", want: 0},
		{name: "days", args: []string{"--retain", "30d"}, want: 30 * 24 * time.Hour},
		{name: "a duration", args: []string{"--retain=12h"}, want: 12 * time.Hour},
		{name: "from the environment", env: "7d", want: 7 * 24 * time.Hour},
		{name: "flag over environment", args: []string{"--retain", "2d"}, env: "7d", want: 2 * 24 * time.Hour},
		{name: "not a duration", args: []string{"--retain", "30x"}, mention: "retain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("COMFYGATE_RETAIN", tc.env)
			f, fs := newServeFlags("serve", serveDefaults())
			cmd := &ff.Command{Name: "serve", Flags: fs}
			err := cmd.Parse(tc.args, ff.WithEnvVarPrefix("COMFYGATE"))
			if tc.mention != "" {
				if err == nil || !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), "30x") {
					t.Fatalf("err = %v, want one naming %q and the value", err, tc.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := f.serverConfig(io.Discard)
			if err != nil || cfg.Retain != tc.want {
				t.Errorf("Retain = %v (%v), want %v", cfg.Retain, err, tc.want)
			}
		})
	}
}
