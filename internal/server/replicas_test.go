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

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/store/postgres"
	"github.com/comfygate/comfygate/internal/store/postgres/pgtest"
)

// postgresDSN starts a PostgreSQL server for one test (skipping, or
// failing in CI, without one) and returns the URL of an empty schema.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	pg, err := pgtest.Start(context.Background())
	if err != nil {
		pgtest.Unavailable(tb, err)
	}
	tb.Cleanup(func() { pg.Close() })
	return pg.NewDSN(tb, nil)
}

// TestRunTimeBackendsSurviveRestart: with the default SQLite store, a
// backend added through the API is still there after a restart, and
// simulators the new process no longer runs are forgotten.
func TestRunTimeBackendsSurviveRestart(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	dir := t.TempDir()
	s := startServer(t, Config{DataDir: dir, SimBackends: 2})
	a := adminClient{tb: t, c: client(t), base: s.URL()}
	a.must(http.StatusCreated, "POST", "/v1/backends", fmt.Sprintf(`{"id":"gpu","url":%q}`, sim.URL()), nil)
	stop(t, s)

	s2 := startServer(t, Config{DataDir: dir, SimBackends: 1})
	a2 := adminClient{tb: t, c: client(t), base: s2.URL()}
	var ids []string
	for _, b := range a2.backends() {
		ids = append(ids, b.ID)
	}
	if strings.Join(ids, ",") != "sim-1,gpu" {
		t.Errorf("backends after the restart: %v, want sim-1,gpu (sim-2 is no more)", ids)
	}
}

func stop(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasShareEvents: two servers on one PostgreSQL database. A job
// submitted to one streams to its end from the other, and resumes there
// from the store; both know the backend the first was given; the pool
// follows pool_max_conns; metrics name each replica.
func TestReplicasShareEvents(t *testing.T) {
	dsn := postgresDSN(t) + "&pool_max_conns=3"
	sim := comfysim.Start(t, comfysim.Options{StepDelay: 20_000_000})
	a := startServer(t, Config{Database: dsn, InstanceID: "replica-a", Examples: true, Backends: []BackendConfig{{ID: "gpu", URL: sim.URL()}}})
	b := startServer(t, Config{Database: dsn, InstanceID: "replica-b"})
	hc := client(t)
	waitReady(t, hc, a)
	waitReady(t, hc, b) // it knows the backend from the database, and probes it

	if got := b.parts.store.(*postgres.Store).Pool().Config().MaxConns; got != 3 {
		t.Errorf("pool size %d, want the DSN's pool_max_conns 3", got)
	}
	code, body := post(t, hc, a.URL()+"/v1/jobs", `{"workflow":"txt2img","params":{"steps":5,"width":64,"height":64}}`)
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, body)
	}
	var j api.Job
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}
	evs := readSSE(t, hc, b.URL()+"/v1/jobs/"+j.ID+"/events", "")
	if len(evs) < 4 || evs[0].typ != "queued" || evs[len(evs)-1].typ != "succeeded" {
		t.Fatalf("stream from the other replica: %v", evs)
	}
	resumed := readSSE(t, hc, b.URL()+"/v1/jobs/"+j.ID+"/events", "1")
	if len(resumed) == 0 || resumed[0].id != "2" || resumed[len(resumed)-1].typ != "succeeded" {
		t.Errorf("resume after event 1 on the other replica: %v", resumed)
	}
	for _, s := range []*Server{a, b} {
		_, m := get(t, hc, s.URL()+"/metrics")
		id := s.parts.instanceID
		traffic := "sent" // a published the job's events
		if s == b {
			traffic = "received"
		}
		for _, re := range []string{
			`comfygate_replica_info\{database="postgres",replica="` + id + `"\} 1`,
			`comfygate_fleet_backend_driven\{backend="gpu",replica="` + id + `"\} [01]`,
			`comfygate_replicas_messages_` + traffic + `_total\{replica="` + id + `"\} [1-9]`,
		} {
			if !regexp.MustCompile(re).Match(m) {
				t.Errorf("metrics of %s lack %s", id, re)
			}
		}
	}
}

// sse is one event of a stream: its id and type.
type sse struct{ id, typ string }

// readSSE reads a job's event stream to its end, resuming after lastID
// when it is not empty.
func readSSE(t *testing.T, hc *http.Client, url, lastID string) []sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.typ = strings.TrimPrefix(line, "event: ")
		case line == "" && cur.typ != "":
			if !strings.Contains(cur.id, ".") { // durable events only: ephemeral ones may be lost
				out = append(out, cur)
			}
			cur = sse{}
		}
	}
	return out
}
