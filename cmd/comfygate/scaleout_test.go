package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/store/postgres/pgtest"
)

// Size and bound of the scale-out test: the budget covers the dead
// replica's backend lease lapsing (15s), its jobs re-attached and the rest
// run, with room for a loaded CI machine.
const (
	scaleOutJobs   = 45
	scaleOutBudget = 2 * time.Minute
)

// TestScaleOut is the acceptance test of scale-out: three replicas, each a
// real process, on one PostgreSQL database and one S3 bucket (a real
// Versity gateway) in front of three simulators, themselves processes.
// 45 jobs are submitted round-robin and one replica is killed with
// SIGKILL while its backend runs them. Every job must succeed, executed
// exactly once by the simulators; a job submitted at replica 1 streams to
// its end from replica 3, resumes there from the store after a
// Last-Event-ID, and its output downloads from replica 3 and is an object
// in the bucket; a ComfyUI client on replica 1 (POST /prompt and /ws) gets
// "executing" null and its image. Not parallel: it sets the environment.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs seven processes")
	}
	dsn, artifacts, bucketDir := scaleOutStorage(t)
	var sims []*process
	var backendArgs []string
	for i := range 3 {
		s := startProcessUntil(t, simListening, "sim", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--step-delay", "25ms")
		sims = append(sims, s)
		backendArgs = append(backendArgs, "--backend", fmt.Sprintf("s%d=%s", i+1, s.URL))
	}
	var replicas []*process
	var cs []*apiClient
	for range 3 {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
			"--database", dsn, "--artifacts", artifacts}, backendArgs...)
		p := startProcess(t, args...)
		replicas = append(replicas, p)
		cs = append(cs, newAPIClient(t, p.URL))
	}
	for _, c := range cs {
		c.waitReady()
	}
	driven := waitOneBackendEach(t, cs)
	cs[0].must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t))

	comfyDone := make(chan comfyResult, 1)
	go func() { comfyDone <- runComfyClient(replicas[0].URL, txt2imgGraph(t)) }()

	var ids []string
	for i := range scaleOutJobs {
		j := cs[i%3].submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"seed": i, "steps": 10, "width": 64, "height": 64}})
		ids = append(ids, j.ID)
	}
	type streamResult struct {
		evs []sseEvent
		err error
	}
	streamed := make(chan streamResult, 1)
	go func() { // submitted at replica 1, read from replica 3
		evs, err := cs[2].streamEvents(ids[0])
		streamed <- streamResult{evs, err}
	}()

	victim := 1
	onVictim := waitRunningOn(t, cs[0], ids, driven[victim])
	replicas[victim].kill()
	killed := time.Now()
	t.Logf("killed replica 2 with SIGKILL while %d jobs ran on its backend %s", len(onVictim), driven[victim])

	survivor := cs[0]
	final := waitAllEnd(t, survivor, ids, killed.Add(scaleOutBudget))
	t.Logf("every job ended %s after the kill", time.Since(killed).Round(time.Second))
	retried, reattached := 0, 0
	for _, id := range ids {
		j := final[id]
		if j.Attempts > 1 {
			retried++
		}
		if j.State != api.StateSucceeded || len(j.Outputs) == 0 {
			t.Errorf("job %s = %s with %d outputs (error %+v), want succeeded", id, j.State, len(j.Outputs), j.Error)
			continue
		}
		if n := executionsOf(t, survivor, sims, j); n != 1 {
			t.Errorf("job %s executed %d times over %d attempts, want exactly once", id, n, j.Attempts)
		}
		if onVictim[id] && j.Backend == driven[victim] && j.Attempts <= 1 {
			reattached++
		}
		id := j.Outputs[0].ArtifactID
		if _, err := os.Stat(filepath.Join(bucketDir, "outputs", id[:2], id[2:4], id)); err != nil {
			t.Errorf("output of job %s is not an object in the bucket: %v", j.ID, err)
		}
	}
	t.Logf("%d jobs, each executed once: of the %d running on the dead replica's backend, %d were re-attached there; %d jobs needed a second attempt",
		len(ids), len(onVictim), reattached, retried)
	sr := <-streamed
	if sr.err != nil {
		t.Fatalf("stream from replica 3: %v", sr.err)
	}
	checkStreamedElsewhere(t, cs[2], ids[0], sr.evs)
	checkComfyClient(t, cs[0], <-comfyDone)
	if t.Failed() || os.Getenv("SCALEOUT_LOGS") != "" {
		for i, p := range replicas {
			t.Logf("replica %d log:\n%s", i+1, tail(p.stderr.String(), 6000))
		}
	}
}

// scaleOutStorage starts PostgreSQL and a Versity S3 gateway (skipping,
// or failing in CI, without them) and returns the --database URL (a pool of
// at most 6 connections per replica), the --artifacts URL and the
// directory holding the bucket's objects.
func scaleOutStorage(t *testing.T) (dsn, artifacts, bucketDir string) {
	t.Helper()
	pg, err := pgtest.Start(context.Background())
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { pg.Close() })
	gw, bucket := startBucket(t)
	return pg.NewDSN(t, nil) + "&pool_max_conns=6", gw.URL(bucket, "outputs"), gw.BucketDir(bucket)
}

// drivenLine is a replica's metric saying it drives a backend.
var drivenLine = regexp.MustCompile(`(?m)^comfygate_fleet_backend_driven\{backend="([^"]+)",replica="[^"]+"\} 1$`)

// waitOneBackendEach waits until every replica drives exactly one
// backend, and returns which.
func waitOneBackendEach(t *testing.T, cs []*apiClient) []string {
	t.Helper()
	driven := make([]string, len(cs))
	ok := poll(func() bool {
		for i, c := range cs {
			m := drivenLine.FindAllStringSubmatch(string(c.must(http.StatusOK, "GET", "/metrics", nil).Body), -1)
			if len(m) != 1 {
				return false
			}
			driven[i] = m[0][1]
		}
		return true
	})
	if !ok {
		t.Fatalf("the replicas never drove one backend each: %v", driven)
	}
	return driven
}

// waitRunningOn waits until some of the jobs run on backend, and returns
// them.
func waitRunningOn(t *testing.T, c *apiClient, ids []string, backend string) map[string]bool {
	t.Helper()
	ours := make(map[string]bool, len(ids))
	for _, id := range ids {
		ours[id] = true
	}
	running := map[string]bool{}
	ok := poll(func() bool {
		var page api.JobList
		c.must(http.StatusOK, "GET", "/v1/jobs?state=running&limit=100", nil).decode(t, &page)
		for _, j := range page.Jobs {
			if j.Backend == backend && ours[j.ID] {
				running[j.ID] = true
			}
		}
		return len(running) > 0
	})
	if !ok {
		t.Fatalf("no job ran on %s", backend)
	}
	return running
}

// waitAllEnd waits until every job has ended, or fails at deadline, and
// returns the jobs as they ended.
func waitAllEnd(t *testing.T, c *apiClient, ids []string, deadline time.Time) map[string]api.Job {
	t.Helper()
	final := make(map[string]api.Job, len(ids))
	pending := slices.Clone(ids)
	for {
		pending = slices.DeleteFunc(pending, func(id string) bool {
			j := c.job(id)
			if j.State.Terminal() {
				final[id] = j
			}
			return j.State.Terminal()
		})
		if len(pending) == 0 {
			return final
		}
		if time.Now().After(deadline) {
			j := c.job(pending[0])
			t.Fatalf("%d of %d jobs had not ended by the deadline; %s is %s on %q after %d attempts",
				len(pending), len(ids), j.ID, j.State, j.Backend, j.Attempts)
		}
		time.Sleep(50 * time.Millisecond) // saves CPU between checks; nothing depends on it
	}
}

// executionsOf counts how often the simulators ran any attempt of j.
func executionsOf(t *testing.T, c *apiClient, sims []*process, j api.Job) int {
	t.Helper()
	n := 0
	for _, s := range sims {
		runs := simStats(t, c, s.URL).ExecutionsByPromptID
		for a := 1; a <= max(j.Attempts, 1); a++ {
			n += runs[fleet.PromptID(j.ID, a)]
		}
	}
	return n
}

// checkStreamedElsewhere: the stream read from another replica than the
// one the job was submitted to went from queued to succeeded; a resume
// there after its second event gets the rest from the store; the output
// downloads from that replica.
func checkStreamedElsewhere(t *testing.T, c *apiClient, id string, evs []sseEvent) {
	t.Helper()
	if len(evs) < 3 || evs[0].Type != "queued" || evs[len(evs)-1].Type != "succeeded" {
		t.Fatalf("stream from replica 3: %d events, first %q, last %q", len(evs), typeAt(evs, 0), typeAt(evs, len(evs)-1))
	}
	var durable []sseEvent
	for _, e := range evs {
		if !strings.Contains(e.ID, ".") {
			durable = append(durable, e)
		}
	}
	resumed := c.readEvents(id, "Last-Event-ID", durable[1].ID)
	var got []string
	for _, e := range resumed {
		if !strings.Contains(e.ID, ".") {
			got = append(got, e.ID+" "+e.Type)
		}
	}
	var want []string
	for _, e := range durable[2:] {
		want = append(want, e.ID+" "+e.Type)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("resumed after %s: %v, want %v", durable[1].ID, got, want)
	}
	var final api.Job
	if err := json.Unmarshal(evs[len(evs)-1].Data.Data, &final); err != nil || len(final.Outputs) == 0 {
		t.Fatalf("terminal event carries %s (%v)", evs[len(evs)-1].Data.Data, err)
	}
	body := c.must(http.StatusOK, "GET", final.Outputs[0].URL, nil).Body
	if !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Errorf("output downloaded from replica 3 is not a PNG (%d bytes)", len(body))
	}
}

func typeAt(evs []sseEvent, i int) string {
	if i < 0 || i >= len(evs) {
		return ""
	}
	return evs[i].Type
}

// comfyResult is what a ComfyUI client saw.
type comfyResult struct {
	promptID string
	images   []comfy.FileRef
	ended    bool // "executing" with node null for its prompt arrived
	err      error
}

// runComfyClient does what a ComfyUI script does: open /ws with a client
// id, POST /prompt with it, and read messages until its prompt's
// "executing" null.
func runComfyClient(base string, graph json.RawMessage) (res comfyResult) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	clientID := "scaleout-client"
	conn, err := comfy.Dial(ctx, base, clientID, comfy.DialOptions{})
	if err != nil {
		return comfyResult{err: err}
	}
	defer conn.Close()
	client, err := comfy.NewClient(base)
	if err != nil {
		return comfyResult{err: err}
	}
	resp, err := client.QueuePrompt(ctx, comfy.PromptRequest{Prompt: graph, ClientID: clientID})
	if err != nil {
		return comfyResult{err: err}
	}
	res.promptID = resp.PromptID
	for {
		ev, err := conn.Read(ctx)
		if err != nil {
			res.err = err
			return res
		}
		switch e := ev.(type) {
		case comfy.Executed:
			if e.PromptID == res.promptID {
				files, _ := comfy.NodeOutputFiles(e.Output)
				for _, f := range files {
					res.images = append(res.images, f.FileRef)
				}
			}
		case comfy.Executing:
			if e.Done() && e.PromptID == res.promptID {
				res.ended = true
				return res
			}
		}
	}
}

// checkComfyClient: the client got its end and an image, which /view on
// its replica serves.
func checkComfyClient(t *testing.T, c *apiClient, res comfyResult) {
	t.Helper()
	if res.err != nil || !res.ended || len(res.images) == 0 {
		t.Fatalf("ComfyUI client on replica 1: prompt %s, ended %v, images %v, error %v", res.promptID, res.ended, res.images, res.err)
	}
	img := res.images[0]
	q := "/view?filename=" + img.Filename + "&type=" + img.Type + "&subfolder=" + img.Subfolder
	if body := c.must(http.StatusOK, "GET", q, nil).Body; !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Errorf("/view of the client's image is not a PNG (%d bytes)", len(body))
	}
}

// tail returns the last n bytes of s, from a line start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
