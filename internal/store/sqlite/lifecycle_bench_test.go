package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// BenchmarkJobLifecycle is one REST job's store traffic as the gateway and
// the fleet make it, per op: the submission (job and "queued" event), the
// claim (dispatched, leased, its event; its sync deferred, as the fleet
// defers it), the end (running and succeeded at once, an output with its
// artifact record and the ComfyUI history, four events), and the reads of
// a client that follows the job's stream and downloads its output.
// cpu-µs/op is the store's CPU per job. It runs with the 0.8 KiB txt2img
// graph and with a 64 KiB one, the size of a large real workflow.
func BenchmarkJobLifecycle(b *testing.B) {
	for _, g := range lifecycleGraphs() {
		b.Run(g.name, func(b *testing.B) {
			each(b, func(b *testing.B, s *sqlite.Store) func(int) {
				return func(i int) { jobLifecycle(b, s, i, g.graph, false) }
			})
		})
	}
}

type lifecycleGraph struct {
	name  string
	graph json.RawMessage
}

func lifecycleGraphs() []lifecycleGraph {
	return []lifecycleGraph{{"graph=txt2img", benchGraph}, {"graph=64KiB", bigGraph(64 << 10)}}
}

// BenchmarkJobLifecycleDispatchedAtSubmit is BenchmarkJobLifecycle for a
// job submitted while a backend has a free slot: the submission and the
// claim are one commit (CreateJobThenUpdate).
func BenchmarkJobLifecycleDispatchedAtSubmit(b *testing.B) {
	for _, g := range lifecycleGraphs() {
		b.Run(g.name, func(b *testing.B) {
			each(b, func(b *testing.B, s *sqlite.Store) func(int) {
				return func(i int) { jobLifecycle(b, s, i, g.graph, true) }
			})
		})
	}
}

// lifecycleHistory is the size and shape of a history entry kept with a
// finished job.
var lifecycleHistory = json.RawMessage(`{"outputs":{"9":{"images":[{"filename":"ComfyUI_00001_.png","subfolder":"","type":"output"}]}},"status":{"status_str":"success","completed":true,"messages":[["execution_start",{"prompt_id":"p","timestamp":1}],["execution_cached",{"nodes":[],"prompt_id":"p","timestamp":2}],["execution_success",{"prompt_id":"p","timestamp":3}]]},"meta":{"9":{"node_id":"9","display_node":"9","parent_node":null,"real_node_id":"9"}}}`)

// jobLifecycle runs the store traffic of job i, whose graph is graph;
// atSubmit stores the job dispatched with its submission instead of
// claiming it after.
func jobLifecycle(tb testing.TB, s *sqlite.Store, i int, graph json.RawMessage, atSubmit bool) {
	ctx := context.Background()
	in := benchJob()
	in.Graph = graph
	now := time.Now()
	claim := func(j *job.Job) (*job.Event, error) {
		if !j.State.Dispatchable() {
			return nil, job.ErrConflict
		}
		j.Backend = "gpu-1"
		if err := j.TransitionTo(job.StateDispatched, now); err != nil {
			return nil, err
		}
		j.LeaseOwner, j.LeaseUntil = "replica-1", now.Add(30*time.Second)
		return job.NewEvent(job.EventDispatched, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}), nil
	}
	queued := &job.Event{Type: job.EventQueued, Data: json.RawMessage(`{"position":0}`)}
	var j *job.Job
	if atSubmit {
		c, err := s.CreateJobThenUpdate(ctx, in, queued, claim)
		if err != nil {
			tb.Fatal(err)
		}
		j = c.Updated
	} else {
		created, _, _, err := s.CreateJobWithEvent(ctx, in, queued)
		if err != nil {
			tb.Fatal(err)
		}
		// The fleet's claim defers its sync (job.DeferSync).
		if j, _, err = s.UpdateJobWithEvent(job.DeferSync(ctx), created.ID, claim); err != nil {
			tb.Fatal(err)
		}
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "output %d", i))
	out := job.Output{ArtifactID: hex.EncodeToString(sum[:]), NodeID: "9", Kind: "images", Filename: "ComfyUI_00001_.png",
		Type: "output", ContentType: "image/png", Size: 20_000}
	art := &job.Artifact{ID: out.ArtifactID, ContentType: out.ContentType, Size: out.Size, Owner: j.Owner,
		JobID: j.ID, NodeID: out.NodeID, Filename: out.Filename, Kind: job.ArtifactOutput}
	_, _, err := s.UpdateJobWithEvents(ctx, j.ID, func(j *job.Job) ([]job.Event, error) {
		if err := j.TransitionTo(job.StateRunning, now); err != nil {
			return nil, err
		}
		j.Outputs = []job.Output{out}
		j.Progress = job.Progress{Fraction: 1, NodesDone: 3, NodesTotal: 3}
		if err := j.TransitionTo(job.StateSucceeded, time.Now()); err != nil {
			return nil, err
		}
		j.LeaseOwner, j.ComfyHistory = "", lifecycleHistory
		return []job.Event{*job.NewEvent(job.EventStarted, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}),
			*job.NewEvent(job.EventOutput, job.OutputDataOf(out)), *job.NewEvent(job.EventSucceeded, nil)}, nil
	}, art)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.GetJob(ctx, j.ID); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.GetArtifact(ctx, out.ArtifactID); err != nil {
		tb.Fatal(err)
	}
}
