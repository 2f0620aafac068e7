package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var simListening = regexp.MustCompile(`comfysim listening on (http://[^ ]+) \(data in ([^)]+)\)\n`)

// simRun is "comfygate sim" running in-process.
type simRun struct {
	url, dataDir string
	cancel       context.CancelFunc
	done         chan error
	err          error
	ended        bool
}

// wait waits for the command to return by itself.
func (r *simRun) wait(t *testing.T) error {
	t.Helper()
	if !r.ended {
		select {
		case r.err = <-r.done:
		case <-time.After(testTimeout):
			t.Fatal("sim did not end")
		}
		r.ended = true
	}
	return r.err
}

// stop cancels the command as SIGTERM would and waits for it.
func (r *simRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// startSim runs "comfygate sim" in-process and waits for its listening
// line; cleanup stops it.
func startSim(t *testing.T, args ...string) *simRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := newLineBuffer(), newLineBuffer()
	r := &simRun{cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- run(ctx, append([]string{"sim", "--listen", "127.0.0.1:0"}, args...), stdout, stderr)
	}()
	t.Cleanup(func() { _ = r.stop(t) })
	wctx, wcancel := context.WithTimeout(ctx, testTimeout)
	defer wcancel()
	m, err := stdout.waitMatch(wctx, simListening)
	if err != nil {
		t.Fatalf("sim did not start: %v\nstderr:\n%s", err, stderr)
	}
	r.url, r.dataDir = m[1], m[2]
	return r
}

func TestSimCommand(t *testing.T) {
	sim := startSim(t, "--checkpoints", "a.safetensors,b.safetensors", "--fail-node", "KSampler", "--class-delay", "ImageBlur=1s")
	url := sim.url
	resp, err := http.Get(url + "/models/checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `["a.safetensors", "b.safetensors"]` {
		t.Errorf("checkpoints: %s", body)
	}
	resp, err = http.Get(url + "/sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		FailNode    string            `json:"fail_node"`
		ClassDelays map[string]string `json:"class_delays"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if f.FailNode != "KSampler" || f.ClassDelays["ImageBlur"] != "1s" {
		t.Errorf("faults %+v", f)
	}
	if err := sim.stop(t); err != nil {
		t.Fatalf("sim ended with %v", err)
	}
	if _, err := os.Stat(sim.dataDir); !os.IsNotExist(err) {
		t.Errorf("temporary data dir %s left behind (%v)", sim.dataDir, err)
	}
}

func TestSimCommandCrash(t *testing.T) {
	sim := startSim(t)
	resp, err := http.Post(sim.url+"/sim/faults", "application/json", strings.NewReader(`{"crash": true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := sim.wait(t); err == nil || !strings.Contains(err.Error(), "crashed") {
		t.Errorf("a crashed sim must end with an error, got %v", err)
	}
}

// --crash-node makes the process end, with an error, when a node of the
// class starts; the prompt was answered first.
func TestSimCommandCrashNode(t *testing.T) {
	sim := startSim(t, "--crash-node", "ImageInvert")
	prompt := `{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		"2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
		"3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}}`
	resp, err := http.Post(sim.url+"/prompt", "application/json", strings.NewReader(prompt))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("prompt: %d", resp.StatusCode)
	}
	if err := sim.wait(t); err == nil || !strings.Contains(err.Error(), "crashed") {
		t.Errorf("a sim crashing in a node must end with an error, got %v", err)
	}
}
