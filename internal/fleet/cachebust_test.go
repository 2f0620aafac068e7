package fleet

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/google/go-cmp/cmp"
)

func TestBustCacheTouchesOnlySinks(t *testing.T) {
	graph := testGraph("a.safetensors", "l.safetensors")
	out := bustCache(graph, "n1")
	var nodes map[string]struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal(out, &nodes); err != nil {
		t.Fatal(err)
	}
	for id, n := range nodes {
		_, has := n.Inputs[nonceInput]
		if has != (id == "9") {
			t.Errorf("node %s has nonce = %v; only the sink (9) should", id, has)
		}
	}
	// Numbers survive byte for byte (a 64-bit seed would not as float64).
	if got := string(nodes["3"].Inputs["seed"]); got != "18446744073709551615" {
		t.Errorf("seed = %s", got)
	}
	if string(bustCache(json.RawMessage(`not json`), "n")) != "not json" {
		t.Error("undecodable graphs must pass through unchanged")
	}
}

func TestNeedsCacheBust(t *testing.T) {
	log := func(outcomes ...string) *job.Job {
		j := &job.Job{}
		for _, o := range outcomes {
			j.AttemptLog = append(j.AttemptLog, job.Attempt{Outcome: o})
		}
		return j
	}
	tests := []struct {
		name string
		j    *job.Job
		want bool
	}{
		{"first attempt", log(""), false},
		{"after a lost backend", log(outcomeBackendLost, ""), false},
		{"after outputs were gone", log(outcomeOutputsGone, ""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsCacheBust(tt.j); got != tt.want {
				t.Errorf("needsCacheBust = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPromptIDFor(t *testing.T) {
	const id = "6f1c1e9a-3b0e-4c1e-9a52-0f8a5b4c2d11"
	if promptIDFor(id, 1) != id {
		t.Error("the first attempt must use the job id")
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{id: true}
	for a := 2; a <= 5; a++ {
		p := promptIDFor(id, a)
		if !uuid.MatchString(p) {
			t.Errorf("attempt %d: %q is not a canonical v8 UUID", a, p)
		}
		if seen[p] {
			t.Errorf("attempt %d reuses prompt id %q", a, p)
		}
		seen[p] = true
		if promptIDFor(id, a) != p {
			t.Errorf("attempt %d: prompt id is not deterministic", a)
		}
	}
}

func TestAttemptSummary(t *testing.T) {
	got := attemptSummary("gone", []job.Attempt{
		{Backend: "a", Outcome: outcomeBackendLost, Error: "lost"},
		{Backend: "b", Outcome: outcomeOOM, Error: "oom"},
	})
	want := "gone; gave up after 2 attempts: 1) a: backend_lost (lost); 2) b: out_of_memory (oom)"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestBusyTracker(t *testing.T) {
	var b busyTracker
	if err := b.wait(context.Background()); err != nil {
		t.Fatalf("idle tracker: %v", err)
	}
	b.enter()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := b.wait(ctx); err == nil {
		t.Fatal("wait must time out while busy")
	}
	done := make(chan error, 1)
	go func() { done <- b.wait(context.Background()) }()
	b.leave()
	if err := <-done; err != nil {
		t.Fatalf("wait after leave: %v", err)
	}
}
