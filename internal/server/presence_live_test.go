package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestProgressCrossesToWatchingReplicas: two replicas, one driving the
// backend. A job's progress stays on the driving replica while nobody
// elsewhere watches (the first job waits on the driving replica); once the
// other has an owner stream open, and has said so, the next job's progress
// reaches that stream.
func TestProgressCrossesToWatchingReplicas(t *testing.T) {
	dsn := postgresDSN(t)
	sim := comfysim.Start(t, comfysim.Options{StepDelay: 5 * time.Millisecond})
	a := startServer(t, Config{Database: dsn, InstanceID: "replica-a", Examples: true, Backends: []BackendConfig{{ID: "gpu", URL: sim.URL()}}})
	b := startServer(t, Config{Database: dsn, InstanceID: "replica-b"})
	hc := client(t)
	waitReady(t, hc, a)
	waitReady(t, hc, b)
	driver, other := drivingReplica(t, hc, a, b)
	// Seeds differ, so that ComfyUI's cache does not answer the second.
	job := func(seed int) string {
		return fmt.Sprintf(`{"workflow":"txt2img","params":{"seed":%d,"steps":20,"width":64,"height":64}}`, seed)
	}

	if code, body := post(t, hc, driver.URL()+"/v1/jobs?wait=60s", job(1)); code != http.StatusCreated || !strings.Contains(string(body), `"state":"succeeded"`) {
		t.Fatalf("unwatched job: %d %s", code, body)
	}
	if st := driver.parts.replicas.link.Stats(); st.Skipped == 0 {
		t.Errorf("progress of a job nobody watched went to the other replica: %+v", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", other.URL()+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !poll(driver.parts.replicas.here.wantsEvents) {
		t.Fatal("the driving replica never heard that the other one watches")
	}
	code, body := post(t, hc, other.URL()+"/v1/jobs", job(2))
	if code != http.StatusCreated {
		t.Fatalf("watched job: %d %s", code, body)
	}
	var j api.Job
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}
	progress, ended := 0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for !ended && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e api.Event
		if json.Unmarshal([]byte(data), &e) != nil || e.JobID != j.ID {
			continue
		}
		switch e.Type {
		case "progress":
			progress++
		case "succeeded", "failed", "cancelled":
			ended = true
		}
	}
	if !ended || progress == 0 {
		t.Errorf("owner stream on the other replica: ended %v with %d progress events of the job; want its end and its progress (scan error %v)",
			ended, progress, sc.Err())
	}
}

// drivingReplica returns which of two replicas drives the one backend,
// and the other.
func drivingReplica(t *testing.T, hc *http.Client, a, b *Server) (driver, other *Server) {
	t.Helper()
	drives := func(s *Server) bool {
		_, m := get(t, hc, s.URL()+"/metrics")
		return regexp.MustCompile(`comfygate_fleet_backend_driven\{backend="gpu",replica="[^"]+"\} 1`).Match(m)
	}
	if !poll(func() bool { return drives(a) != drives(b) }) {
		t.Fatal("not exactly one replica drives the backend")
	}
	if drives(a) {
		return a, b
	}
	return b, a
}
