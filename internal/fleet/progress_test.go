package fleet

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// txt2imgClasses is ComfyUI's default graph, as imageGraph writes it.
var txt2imgClasses = map[string]string{
	"4": "CheckpointLoaderSimple", "6": "CLIPTextEncode", "7": "CLIPTextEncode",
	"5": "EmptyLatentImage", "3": "KSampler", "8": "VAEDecode", "9": "SaveImage",
}

// txt2imgOrder is the order ComfyUI executes it in.
var txt2imgOrder = []string{"4", "6", "7", "5", "3", "8", "9"}

// progressRun replays one run of a graph into a progressState: nodes in
// order, each taking secs[class] seconds (0 if absent) on a fake clock,
// the sampler node "3" reporting steps 1..steps, with cached nodes
// announced first. It returns the fraction after each message, keyed
// "node" or "node@step".
type progressRun struct {
	classes map[string]string
	order   []string
	cached  []string
	hints   map[string]float64
	steps   int // steps the sampler reports
	secs    map[string]float64
}

func (pr progressRun) replay(m *costModel) (fractions []float64, at map[string]float64) {
	var p progressState
	p.init(pr.classes, pr.hints, m)
	now := time.Unix(1000, 0)
	at = map[string]float64{}
	record := func(key string) {
		f := p.fraction()
		fractions = append(fractions, f)
		at[key] = f
	}
	for _, id := range pr.cached {
		p.markCached(id)
	}
	for _, id := range pr.order {
		if containsID(pr.cached, id) {
			continue
		}
		p.start(id, now, m)
		record(id)
		d := pr.secs[pr.classes[id]]
		if id == "3" {
			for s := 1; s <= pr.steps; s++ {
				now = now.Add(time.Duration(d / float64(pr.steps) * float64(time.Second)))
				p.step(float64(s), float64(pr.steps), now)
				record(fmt.Sprintf("3@%d", s))
			}
			continue
		}
		now = now.Add(time.Duration(d * float64(time.Second)))
	}
	p.end(now, m)
	return fractions, at
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestProgressIsWeightedByNodeTime(t *testing.T) {
	t.Parallel()
	steps20 := map[string]float64{"3": 20}
	// measured: a run on this fleet where sampling took 20 s, the decode
	// 5 s and the checkpoint load 10 s; the rest was instant.
	measured := map[string]float64{"KSampler": 20, "VAEDecode": 5, "CheckpointLoaderSimple": 10}
	tests := []struct {
		name  string
		learn *progressRun // a run the model measures first
		run   progressRun
		// want: fraction ranges at given points
		want map[string][2]float64
	}{
		{
			name: "priors: sampling moves the bar through most of its length",
			run:  progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20},
			want: map[string][2]float64{
				"3":    {0, 0.1},     // everything before sampling is a small share
				"3@1":  {0.05, 0.15}, // by node count: 58%
				"3@10": {0.45, 0.55}, // by node count: 64%
				"3@20": {0.85, 0.97},
				"9":    {0.95, maxRunningFraction},
			},
		},
		{
			name:  "learned durations: a slow decode keeps its share",
			learn: &progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20, secs: measured},
			run:   progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20, secs: measured},
			want: map[string][2]float64{
				"3":    {0.28, 0.29},   // 10 s of 35 were the load
				"3@10": {0.56, 0.58},   // 20 of 35
				"8":    {0.85, 0.86},   // 30 of 35
				"9":    {0.989, 0.991}, // all but the instant save: capped
			},
		},
		{
			name:  "cached nodes weigh nothing",
			learn: &progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20, secs: measured},
			run: progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20, secs: measured,
				cached: []string{"4", "6", "7", "5"}},
			want: map[string][2]float64{
				"3":    {0, 0.001}, // the cached load does not count as 10 s done
				"3@10": {0.39, 0.41},
				"8":    {0.79, 0.81},
			},
		},
		{
			name:  "a sampler slower than measured is weighed by its pace in this run",
			learn: &progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20, secs: measured},
			run: progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20,
				secs: map[string]float64{"KSampler": 200, "VAEDecode": 5}, cached: []string{"4", "6", "7", "5"}},
			want: map[string][2]float64{
				"3@10": {0.46, 0.51}, // 100 s of 205; by the average, 10 of 25
				"3@19": {0.90, 0.95}, // by the average, 76%
			},
		},
		{
			name: "an unmeasured sampler keeps the prior, whatever its pace",
			run: progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 20,
				secs: map[string]float64{"KSampler": 0.02, "VAEDecode": 5}},
			want: map[string][2]float64{"3@1": {0.05, 0.15}, "3@10": {0.45, 0.55}},
		},
		{
			name: "the step count reported beats the graph's",
			run:  progressRun{classes: txt2imgClasses, order: txt2imgOrder, hints: steps20, steps: 10},
			want: map[string][2]float64{
				"3@5":  {0.45, 0.55}, // half of a 10-step sampling
				"3@10": {0.80, 0.93},
			},
		},
		{
			name: "a sampler without a step hint is assumed to run the default",
			run:  progressRun{classes: txt2imgClasses, order: txt2imgOrder, steps: 20},
			want: map[string][2]float64{"3": {0, 0.1}, "3@10": {0.45, 0.55}},
		},
		{
			name: "a graph that ends in a sampler stays below 1",
			run:  progressRun{classes: map[string]string{"5": "EmptyLatentImage", "3": "KSampler"}, order: []string{"5", "3"}, steps: 4},
			want: map[string][2]float64{"3@4": {maxRunningFraction, maxRunningFraction}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newCostModel()
			if tt.learn != nil {
				tt.learn.replay(m)
			}
			fractions, at := tt.run.replay(m)
			for i := 1; i < len(fractions); i++ {
				if fractions[i] < fractions[i-1] {
					t.Errorf("fraction went back from %.3f to %.3f (message %d): %v", fractions[i-1], fractions[i], i, fractions)
				}
			}
			for _, f := range fractions {
				if f < 0 || f > maxRunningFraction {
					t.Errorf("fraction %.3f outside 0..%.2f while running", f, maxRunningFraction)
				}
			}
			for key, r := range tt.want {
				got, ok := at[key]
				if !ok {
					t.Errorf("no fraction at %s", key)
					continue
				}
				if got < r[0] || got > r[1] {
					t.Errorf("fraction at %s = %.3f, want %.3f..%.3f", key, got, r[0], r[1])
				}
			}
		})
	}
}

func TestCostModelLearnsSteppedClasses(t *testing.T) {
	t.Parallel()
	m := newCostModel()
	// An upscaler nobody told us about turns out to report 8 steps of 0.5 s.
	if c := m.estimate("TiledUpscale", 0); c.stepped || c.secs != priorLightSecs {
		t.Fatalf("prior = %+v", c)
	}
	m.observe("TiledUpscale", 4*time.Second, 8)
	c := m.estimate("TiledUpscale", 0)
	if !c.stepped || math.Abs(c.unitSecs-0.5) > 1e-9 || math.Abs(c.secs-4) > 1e-9 {
		t.Errorf("after one run = %+v, want stepped, 0.5 s a step, 8 steps", c)
	}
	if c := m.estimate("TiledUpscale", 16); math.Abs(c.secs-8) > 1e-9 {
		t.Errorf("with 16 steps = %+v, want 8 s", c)
	}
	// A run that reported no steps does not mix whole-run seconds into
	// the per-step average.
	m.observe("TiledUpscale", 100*time.Second, 0)
	if c := m.estimate("TiledUpscale", 8); math.Abs(c.secs-4) > 1e-9 {
		t.Errorf("after a stepless run = %+v, want 4 s", c)
	}
	// The moving average follows a faster backend.
	for range 20 {
		m.observe("TiledUpscale", 800*time.Millisecond, 8)
	}
	if c := m.estimate("TiledUpscale", 8); math.Abs(c.secs-0.8) > 0.01 {
		t.Errorf("after 20 faster runs = %.3f s, want about 0.8", c.secs)
	}
}

// TestProgressLearnsNodesReportedFinished: newer ComfyUI says a node
// finished (progress_state) before the next one starts; its time is
// learned all the same.
func TestProgressLearnsNodesReportedFinished(t *testing.T) {
	t.Parallel()
	m := newCostModel()
	var p progressState
	p.init(map[string]string{"1": "VAEDecode", "2": "SaveImage"}, nil, m)
	t0 := time.Unix(1000, 0)
	p.start("1", t0, m)
	p.markDone("1") // progress_state: finished
	p.start("2", t0.Add(3*time.Second), m)
	p.markDone("2")
	p.end(t0.Add(4*time.Second), m)
	if c := m.estimate("VAEDecode", 0); math.Abs(c.secs-3) > 1e-9 {
		t.Errorf("VAEDecode estimate %.3f s, want the 3 s it took", c.secs)
	}
	if c := m.estimate("SaveImage", 0); math.Abs(c.secs-1) > 1e-9 {
		t.Errorf("SaveImage estimate %.3f s, want the 1 s it took", c.secs)
	}
}

func TestStepHints(t *testing.T) {
	t.Parallel()
	graph := `{
	 "1": {"class_type": "KSampler", "inputs": {"steps": 25, "model": ["9", 0]}},
	 "2": {"class_type": "PrimitiveInt", "inputs": {"value": 12}},
	 "3": {"class_type": "KSampler", "inputs": {"steps": ["2", 0]}},
	 "4": {"class_type": "BasicScheduler", "inputs": {"steps": 30, "model": ["9", 0]}},
	 "5": {"class_type": "SamplerCustomAdvanced", "inputs": {"sigmas": ["4", 0], "noise": ["9", 0]}},
	 "9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}}
	}`
	var nodes map[string]graphNode
	if err := json.Unmarshal([]byte(graph), &nodes); err != nil {
		t.Fatal(err)
	}
	got := stepHints(nodes)
	want := map[string]float64{"1": 25, "3": 12, "4": 30, "5": 30}
	if len(got) != len(want) {
		t.Errorf("hints = %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("hint of %s = %v, want %v", id, got[id], w)
		}
	}
}

// TestSamplingDominatesProgress runs ComfyUI's default graph on the
// simulator and checks every progress event the sampler caused: the
// job's fraction follows the sampler's own within a small margin (by node
// count, step 10 of 20 showed 64%), never goes back, and reaches 1 only
// with the job's success.
func TestSamplingDominatesProgress(t *testing.T) {
	// The second run is weighed by what the first measured: sampling must
	// be nearly all of the real time for the sampler's share to be the
	// job's (the decode and save take tens of milliseconds under -race).
	s := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	e := newEnv(t, backendOf("gpu", s, 1))
	for run := range 2 { // the second run uses the durations the first measured
		id := e.submit(t, imageGraph(simCheckpoint, 10+run, 20))
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Progress.Fraction != 1 {
			t.Fatalf("run %d: state %s, progress %+v", run, j.State, j.Progress)
		}
		last, samplerSteps := 0.0, 0
		for _, ev := range e.hub.ofJob(id) {
			if ev.Type != job.EventProgress {
				continue
			}
			var p job.Progress
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				t.Fatal(err)
			}
			if p.Fraction < last || p.Fraction >= 1 {
				t.Errorf("run %d: fraction %.3f after %.3f", run, p.Fraction, last)
			}
			last = p.Fraction
			if p.NodeType != "KSampler" || p.Max != 20 {
				continue
			}
			samplerSteps++
			if share := p.Value / p.Max; math.Abs(p.Fraction-share) > 0.1 {
				t.Errorf("run %d: at step %v of %v the job shows %.0f%%, want %.0f%% ± 10", run, p.Value, p.Max, p.Fraction*100, share*100)
			}
		}
		if samplerSteps == 0 {
			t.Errorf("run %d: no sampler progress was published", run)
		}
		e.fleet.costs.mu.Lock()
		sampler := e.fleet.costs.classes["KSampler"]
		e.fleet.costs.mu.Unlock()
		if !sampler.stepped || sampler.unitSecs <= 0 || sampler.steps != 20 {
			t.Errorf("run %d: what the fleet learned of KSampler: %+v, want a stepped class of 20 steps", run, sampler)
		}
	}
}
