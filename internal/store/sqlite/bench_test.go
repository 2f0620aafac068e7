package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// benchGraph is the size and shape of ComfyUI's default txt2img graph.
var benchGraph = json.RawMessage(`{"3":{"class_type":"KSampler","inputs":{"seed":156680208700286,"steps":20,"cfg":8,"sampler_name":"euler","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"v1-5-pruned-emaonly.safetensors"}},"5":{"class_type":"EmptyLatentImage","inputs":{"width":512,"height":512,"batch_size":1}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"beautiful scenery nature glass bottle landscape, purple galaxy bottle,","clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"text, watermark","clip":["4",1]}},"8":{"class_type":"VAEDecode","inputs":{"samples":["3",0],"vae":["4",2]}},"9":{"class_type":"SaveImage","inputs":{"filename_prefix":"ComfyUI","images":["8",0]}}}`)

func benchJob() *job.Job {
	return &job.Job{Owner: "key-1", Source: job.SourceREST, Workflow: "txt2img", WorkflowVersion: "0123456789abcdef",
		Params: json.RawMessage(`{"prompt":"a cat","seed":42}`), Graph: benchGraph, OutputNodes: []string{"9"}, MaxAttempts: 3}
}

// processCPU is the CPU time (user + system) this process used so far: on
// a shared machine a steadier measure of a write's cost than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// each runs fn serially and from 32 goroutines, for both durability modes.
func each(b *testing.B, setup func(b *testing.B, s *sqlite.Store) func(i int)) {
	for _, syncMode := range []string{"FULL", "NORMAL"} {
		for _, par := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", syncMode, par), func(b *testing.B) {
				s := open(b, sqlite.Config{Path: tempPath(b), Synchronous: syncMode})
				fn := setup(b, s)
				var next atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				defer func() {
					b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				}()
				if par == 1 {
					for i := range b.N {
						fn(i)
					}
					return
				}
				b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						fn(int(next.Add(1) - 1))
					}
				})
			})
		}
	}
}

func BenchmarkCreateJob(b *testing.B) {
	each(b, func(b *testing.B, s *sqlite.Store) func(int) {
		return func(int) {
			if _, _, err := s.CreateJob(context.Background(), benchJob()); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkClaim is the scheduler's compare-and-set, queued → dispatched.
func BenchmarkClaim(b *testing.B) {
	each(b, func(b *testing.B, s *sqlite.Store) func(int) {
		ids := createMany(b, s, b.N, func(int, *job.Job) {})
		return func(i int) {
			_, err := s.UpdateJob(context.Background(), ids[i], func(j *job.Job) error {
				if j.State != job.StateQueued {
					return job.ErrConflict
				}
				j.Backend = "gpu-1"
				return j.TransitionTo(job.StateDispatched, time.Now())
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkUpdateWithEvent is a progress-free lifecycle step: a job update
// plus its durable event, spread over 64 jobs.
func BenchmarkUpdateWithEvent(b *testing.B) {
	each(b, func(b *testing.B, s *sqlite.Store) func(int) {
		ids := createMany(b, s, 64, func(int, *job.Job) {})
		return func(i int) {
			_, _, err := s.UpdateJobWithEvent(context.Background(), ids[i%len(ids)], func(j *job.Job) (*job.Event, error) {
				j.Progress.NodesDone++
				return &job.Event{Type: "progress", Data: json.RawMessage(`{"node":"3"}`)}, nil
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkUpdateWithEventBigGraph is BenchmarkUpdateWithEvent with a
// 64 KiB graph, the size of a large real workflow: the graph is never
// changed by an update, so its size should not show in the cost.
func BenchmarkUpdateWithEventBigGraph(b *testing.B) {
	big := bigGraph(64 << 10)
	each(b, func(b *testing.B, s *sqlite.Store) func(int) {
		ids := createMany(b, s, 64, func(_ int, j *job.Job) { j.Graph = big })
		return func(i int) {
			_, _, err := s.UpdateJobWithEvent(context.Background(), ids[i%len(ids)], func(j *job.Job) (*job.Event, error) {
				j.Progress.NodesDone++
				return &job.Event{Type: "progress", Data: json.RawMessage(`{"node":"3"}`)}, nil
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkCreateJobWithEvent is a submission: the job and its queued
// event in one commit.
func BenchmarkCreateJobWithEvent(b *testing.B) {
	each(b, func(b *testing.B, s *sqlite.Store) func(int) {
		return func(int) {
			e := &job.Event{Type: "queued", Data: json.RawMessage(`{"position":0}`)}
			if _, _, _, err := s.CreateJobWithEvent(context.Background(), benchJob(), e); err != nil {
				b.Error(err)
			}
		}
	})
}

// bigGraph is a graph of about size bytes: the benchmark graph plus
// text nodes.
func bigGraph(size int) json.RawMessage {
	g := map[string]any{}
	if err := json.Unmarshal(benchGraph, &g); err != nil {
		panic(err)
	}
	for i := 100; len(mustJSON(g)) < size; i++ {
		g[fmt.Sprint(i)] = map[string]any{"class_type": "CLIPTextEncode",
			"inputs": map[string]any{"text": fmt.Sprintf("prompt %d: a long description of a scene with many words", i), "clip": []any{"4", 1}}}
	}
	return mustJSON(g)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// createMany creates n jobs from 32 goroutines and returns their ids.
func createMany(tb testing.TB, s job.Store, n int, mod func(int, *job.Job)) []string {
	tb.Helper()
	ids := make([]string, n)
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				j := benchJob()
				mod(i, j)
				got, _, err := s.CreateJob(context.Background(), j)
				if err != nil {
					tb.Error(err)
					return
				}
				ids[i] = got.ID
			}
		})
	}
	wg.Wait()
	return ids
}

// readyState spreads states like a long-running gateway's history: mostly
// finished jobs, 1% queued, 0.4% on backends.
func readyState(i int) job.State {
	switch {
	case i%100 == 0:
		return job.StateQueued
	case i%500 == 1:
		return job.StateRunning
	case i%500 == 2:
		return job.StateDispatched
	case i%50 == 3:
		return job.StateFailed
	}
	return job.StateSucceeded
}

const readyJobs = 100_000

var readyDB struct {
	once sync.Once
	dir  string
	err  error
}

// readyPath returns a database of readyJobs jobs, built once per process
// (TestMain removes it).
func readyPath(b *testing.B) string {
	readyDB.once.Do(func() {
		if readyDB.dir, readyDB.err = os.MkdirTemp("", "comfygate-ready-*"); readyDB.err != nil {
			return
		}
		path := filepath.Join(readyDB.dir, "ready.db")
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			readyDB.err = err
			return
		}
		createMany(b, s, readyJobs, func(i int, j *job.Job) { j.State = readyState(i) })
		readyDB.err = s.Close()
	})
	if readyDB.err != nil {
		b.Fatal(readyDB.err)
	}
	return filepath.Join(readyDB.dir, "ready.db")
}

func removeReadyDB() {
	if readyDB.dir != "" {
		os.RemoveAll(readyDB.dir)
	}
}

// BenchmarkReady is the store's share of gateway start-up with 100,000 jobs
// stored: open (migrations are a no-op), then the recovery queries — the
// active jobs to re-attach and the head of the queue. Budget: the whole
// gateway is ready in 300 ms.
func BenchmarkReady(b *testing.B) {
	path := readyPath(b)
	b.ResetTimer()
	for range b.N {
		ctx := context.Background()
		s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		active, err := s.ActiveJobs(ctx)
		if err != nil || len(active) != readyJobs/250 {
			b.Fatalf("ActiveJobs: %d jobs, %v", len(active), err)
		}
		head, err := s.DispatchOrder(ctx, 100)
		if err != nil || len(head) != 100 {
			b.Fatalf("DispatchOrder: %d jobs, %v", len(head), err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCountByState100k measures the one store query that is not
// index-bounded: it counts every job, reading the whole table.
func BenchmarkCountByState100k(b *testing.B) {
	path := readyPath(b)
	s := open(b, sqlite.Config{Path: path})
	b.ResetTimer()
	for range b.N {
		if _, err := s.CountByState(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
