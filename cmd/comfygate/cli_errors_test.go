package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stderrOf runs a command line that must fail as main would, and returns
// the last line main prints and the exit code.
func stderrOf(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, args, &stdout, &stderr)
	code := exitCode(err, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	return lines[len(lines)-1], code
}

// TestFlagErrors: a bad flag is said once, on one line, naming the flag
// and the value and saying what would do.
func TestFlagErrors(t *testing.T) {
	config := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(config, []byte("shutdown-timeout: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"enum", []string{"serve", "--log-format", "xml"}, nil, `serve --log-format "xml": want one of text, json`},
		{"enum with =", []string{"serve", "--log-level=loud"}, nil, `serve --log-level "loud": want one of info, debug, warn, error`},
		{"enum of sim", []string{"sim", "--preview-method", "best"}, nil, `sim --preview-method "best": want one of none, auto, latent2rgb, taesd`},
		{"enum from env", nil, map[string]string{"COMFYGATE_LOG_FORMAT": "xml"}, `serve COMFYGATE_LOG_FORMAT="xml": want one of text, json`},
		{"duration", []string{"serve", "--shutdown-timeout", "5x"}, nil, `serve --shutdown-timeout "5x": want a duration: a number and a unit, like 500ms, 30s, 5m or 1h30m`},
		{"duration without unit", []string{"run", "txt2img", "--timeout", "3"}, nil, `run --timeout "3": want a duration: a number and a unit, like 500ms, 30s, 5m or 1h30m`},
		{"duration from env", nil, map[string]string{"COMFYGATE_SIM_STEP_DELAY": "fast"}, `serve COMFYGATE_SIM_STEP_DELAY="fast": want a duration: a number and a unit, like 500ms, 30s, 5m or 1h30m`},
		{"duration in a config file", []string{"serve", "--config", config}, nil, `serve --config file: shutdown-timeout: want a duration: a number and a unit, like 500ms, 30s, 5m or 1h30m`},
		{"integer", []string{"serve", "--sim", "two"}, nil, `serve --sim "two": want a whole number, like 3`},
		{"integer of a sub-verb", []string{"jobs", "list", "--limit", "ten"}, nil, `jobs list --limit "ten": want a whole number, like 3`},
		{"integer out of range", []string{"serve", "--max-queued", "99999999999999999999"}, nil, `serve --max-queued "99999999999999999999": out of range`},
		{"unsigned", []string{"sim", "--seed", "-1"}, nil, `sim --seed "-1": want a whole number of 0 or more`},
		{"float", []string{"sim", "--max-upload-size", "big"}, nil, `sim --max-upload-size "big": want a number, like 2.5`},
		{"missing value", []string{"serve", "--listen"}, nil, `serve: --listen needs a value`},
		{"unknown flag", []string{"serve", "--lisen", "x"}, nil, `serve: unknown flag "lisen"`},
		{"unknown verb", []string{"srve"}, nil, `unknown verb "srve"; want one of serve, demo, sim, version, health, run, workflows, jobs, backends, bench (comfygate -h says what each does)`},
		{"server without scheme", []string{"jobs", "--server", "localhost:8080"}, nil, `jobs --server "localhost:8080": no http:// or https:// in front (try http://localhost:8080)`},
		{"server with another scheme", []string{"workflows", "list", "--server", "ftp://h"}, nil, `workflows list --server "ftp://h": scheme "ftp": want http or https`},
		{"server without host", []string{"run", "x", "--server", "http://"}, nil, `run --server "http://": no host: want http(s)://host[:port]`},
		{"server from env", []string{"backends"}, map[string]string{"COMFYGATE_SERVER": "127.0.0.1:8080"}, `backends COMFYGATE_SERVER="127.0.0.1:8080": no http:// or https:// in front (try http://127.0.0.1:8080)`},
		{"backend without scheme", []string{"serve", "--backend", "gpu-1:8188"}, nil, `--backend "gpu-1:8188": no http:// or https:// in front (try http://gpu-1:8188)`},
		{"backend with an id", []string{"serve", "--backend", "gpu=ftp://gpu-1"}, nil, `--backend "gpu=ftp://gpu-1": scheme "ftp": want http or https`},
		{"wrong arguments", []string{"run"}, nil, `run: want one WORKFLOW, got 0 arguments`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if args == nil {
				args = []string{"serve"}
			}
			line, code := stderrOf(t, args...)
			if want := "comfygate: " + tc.want; line != want || code != 1 {
				t.Errorf("exit %d with\n%s\nwant exit 1 with\n%s", code, line, want)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"serve", "-h"}, {"jobs", "list", "--help"}} {
		var stderr strings.Builder
		err := run(context.Background(), args, &strings.Builder{}, &stderr)
		if code := exitCode(err, &stderr); code != 0 || !strings.Contains(stderr.String(), "USAGE") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, stderr.String())
		}
	}
}
