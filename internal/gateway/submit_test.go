package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// imagePrompt is a small graph every test catalog validates; image, when
// not "", adds a LoadImage of that file whose output is saved too.
func imagePrompt(image string) json.RawMessage {
	g := map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		"2": map[string]any{"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"1", 0}}},
	}
	if image != "" {
		g["3"] = map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": image}}
		g["4"] = map[string]any{"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"3", 0}}}
	}
	b, _ := json.Marshal(g)
	return b
}

// storedGraph is the graph a job was stored with.
func storedGraph(tb testing.TB, e *env, id string) workflow.Graph {
	tb.Helper()
	j, err := e.store.GetJob(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := workflow.ParseGraph(j.Graph, workflow.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// TestSubmitEverySource: each surface's submission becomes a job with its
// source and client, stored with its queued event, published and handed
// to the scheduler; only the ComfyUI surface's jobs get a ComfyMeta.
func TestSubmitEverySource(t *testing.T) {
	tests := []struct {
		name     string
		sub      job.Submission
		wantMeta job.ComfyMeta // zero: no record
	}{
		{"rest", job.Submission{Source: job.SourceREST, Owner: "alice", Prompt: imagePrompt(""), Webhook: "https://hooks.example/x"}, job.ComfyMeta{}},
		{"flask", job.Submission{Source: job.SourceFlask, Owner: "alice", ClientID: "my-api-7", Prompt: imagePrompt("")}, job.ComfyMeta{}},
		{"comfy", job.Submission{Source: job.SourceComfy, Owner: "alice", ClientID: "tab-1", HasClientID: true,
			Number: "7", ExtraData: json.RawMessage(`{"client_id":"tab-1"}`), Prompt: imagePrompt(""), Priority: 1},
			job.ComfyMeta{Number: "7", Client: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			sub, err := e.hub.SubscribeAll(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			res, err := e.svc.Submit(ctx, tt.sub)
			if err != nil {
				t.Fatal(err)
			}
			j, err := e.store.GetJob(ctx, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Source != tt.sub.Source || j.Owner != "alice" || j.ClientID != tt.sub.ClientID || j.Priority != tt.sub.Priority ||
				j.Webhook != tt.sub.Webhook || string(j.ExtraData) != string(tt.sub.ExtraData) || j.State != job.StateQueued {
				t.Errorf("stored job %+v does not carry the submission %+v", j, tt.sub)
			}
			if diff := cmp.Diff(tt.wantMeta, job.ComfyMetaOf(j)); diff != "" {
				t.Errorf("comfy meta (-want +got):\n%s", diff)
			}
			if tt.sub.Source != job.SourceComfy && len(j.Comfy) != 0 {
				t.Errorf("a %s job got a comfy record %s", tt.name, j.Comfy)
			}
			if ev := <-sub.C(); ev.JobID != j.ID || ev.Type != job.EventQueued || ev.Owner != "alice" {
				t.Errorf("published %+v, want the job's queued event for its owner", ev)
			}
			if got := e.fleet.Enqueued(); len(got) != 1 || got[0] != j.ID {
				t.Errorf("enqueued %v, want [%s]", got, j.ID)
			}
			if res.QueuePosition == nil || *res.QueuePosition != 0 {
				t.Errorf("position %v, want 0 in an empty queue", res.QueuePosition)
			}
		})
	}
}

// TestPromptIDGenerations: a reused prompt_id makes a new job that
// supersedes the previous one, per owner; lookups find the latest.
func TestPromptIDGenerations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	submit := func(owner, promptID string) *job.Job {
		t.Helper()
		res, err := e.svc.Submit(ctx, job.Submission{Source: job.SourceComfy, Owner: owner, PromptID: promptID, Prompt: imagePrompt("")})
		if err != nil {
			t.Fatal(err)
		}
		return res.Job
	}
	shown := func(j *job.Job) string { return job.ComfyMetaOf(j).PromptIDFor(j) }

	var gens []*job.Job
	for range 3 {
		gens = append(gens, submit("alice", "my-run"))
	}
	for i, j := range gens {
		if want := derivedID("alice", "my-run", i+1); j.ID != want || shown(j) != "my-run" {
			t.Errorf("generation %d: id %s shown as %q; want %s shown as my-run", i+1, j.ID, shown(j), want)
		}
		stored, _ := e.store.GetJob(ctx, j.ID)
		if superseded := job.ComfyMetaOf(stored).Superseded; superseded != (i < 2) {
			t.Errorf("generation %d superseded = %v", i+1, superseded)
		}
	}
	if got, err := e.svc.JobByPromptID(ctx, "alice", "my-run"); err != nil || got.ID != gens[2].ID {
		t.Errorf("JobByPromptID = %v, %v; want the third generation", got, err)
	}

	// Another owner's chain of the same prompt_id is its own, and hidden.
	bobs := submit("bob", "my-run")
	if bobs.ID != derivedID("bob", "my-run", 1) {
		t.Errorf("bob's first my-run has id %s", bobs.ID)
	}
	if got, err := e.svc.JobByPromptID(ctx, "bob", "my-run"); err != nil || got.ID != bobs.ID {
		t.Errorf("bob's lookup = %v, %v", got, err)
	}
	if _, err := e.svc.JobByPromptID(ctx, "carol", "my-run"); !errors.Is(err, ErrNotFound) {
		t.Errorf("carol's lookup: err = %v, want ErrNotFound", err)
	}

	// A UUID prompt_id is the job id, unless another owner took it first.
	id := "5c1a2b3d-0000-4000-8000-00000000abcd"
	if j := submit("alice", id); j.ID != id || shown(j) != id {
		t.Errorf("UUID prompt_id: job id %s shown as %s", j.ID, shown(j))
	}
	if j := submit("bob", id); j.ID != derivedID("bob", id, 1) || shown(j) != id {
		t.Errorf("bob's reuse of alice's UUID: job id %s shown as %s", j.ID, shown(j))
	}
	if got, err := e.svc.JobByPromptID(ctx, "bob", id); err != nil || got.Owner != "bob" {
		t.Errorf("bob finds %v, %v; want his own job", got, err)
	}
	if got, err := e.svc.JobByPromptID(ctx, "alice", id); err != nil || got.ID != id {
		t.Errorf("alice finds %v, %v; want hers", got, err)
	}

	// A job without a chosen prompt_id is found by its id.
	plain, err := e.svc.Submit(ctx, rest("alice", job.Submission{Prompt: imagePrompt("")}))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.JobByPromptID(ctx, "alice", plain.ID); err != nil || got.ID != plain.ID {
		t.Errorf("plain job by id: %v, %v", got, err)
	}
}

// fakeNames is a hand-written Names: the owner's file names and the blobs
// they stand for.
type fakeNames struct {
	ResolveNameFunc func(ctx context.Context, owner, value string) (string, bool, error)
}

func (f fakeNames) ResolveName(ctx context.Context, owner, value string) (string, bool, error) {
	return f.ResolveNameFunc(ctx, owner, value)
}

// TestStagingOwnedInputs: file inputs that name stored content become
// staged names when the content is the caller's, on every surface, and
// are refused when it is someone else's.
func TestStagingOwnedInputs(t *testing.T) {
	var photo string // alice's upload, named photo.png on the ComfyUI surface
	names := fakeNames{ResolveNameFunc: func(_ context.Context, owner, value string) (string, bool, error) {
		if owner == "alice" && (value == "photo.png" || value == "photo.png [input]") {
			return photo, true, nil
		}
		return "", false, nil
	}}
	e := newEnv(t, func(c *Config) { c.Names = names })
	ctx := context.Background()
	up, err := e.svc.Upload(ctx, "alice", bytes.NewReader(pngBytes(t, 2, 2)), "photo.png", "")
	if err != nil {
		t.Fatal(err)
	}
	photo = up.ID
	staged := StagedPrefix + up.ID + ".png"
	tests := []struct {
		name, owner, source, value string
		want                       string // staged value; "" = refused
	}{
		{"upload id", "alice", job.SourceREST, up.ID, staged},
		{"staged name", "alice", job.SourceComfy, staged, staged},
		{"comfy file name", "alice", job.SourceComfy, "photo.png", staged},
		{"comfy file name on rest", "alice", job.SourceREST, "photo.png [input]", staged},
		{"backend file", "alice", job.SourceComfy, "example.png", "example.png"},
		{"another owner's upload id", "bob", job.SourceREST, up.ID, ""},
		{"another owner's staged name", "bob", job.SourceComfy, staged, ""},
		{"another owner's file name", "bob", job.SourceComfy, "photo.png", "photo.png"},
		{"unknown upload id", "alice", job.SourceREST, strings.Repeat("0", 64), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.Submit(ctx, job.Submission{Source: tt.source, Owner: tt.owner, Prompt: imagePrompt(tt.value)})
			if tt.want == "" {
				assertField(t, err, "prompt.3.inputs.image")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := storedGraph(t, e, res.ID)["3"].Inputs["image"]; got != tt.want {
				t.Errorf("image input = %v, want %v", got, tt.want)
			}
			j, _ := e.store.GetJob(ctx, res.ID)
			given := job.ComfyMetaOf(j).Inputs["3"]["image"]
			if wantGiven := tt.source == job.SourceComfy && tt.want != tt.value; (given == tt.value) != wantGiven {
				t.Errorf("recorded client value %q for %s (source %s)", given, tt.value, tt.source)
			}
		})
	}
}

// TestTraversalRefused: a file name that could leave a backend's input
// directory is refused on every surface, annotation or not; names inside
// it pass.
func TestTraversalRefused(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"../x.png", "../../etc/passwd", "/etc/passwd", `\x.png`, "C:x.png", "a\x00b.png",
		"sub/../../x.png", "../x.png [input]", "..\\x.png"} {
		for _, source := range []string{job.SourceREST, job.SourceComfy, job.SourceFlask} {
			_, err := e.svc.Submit(context.Background(), job.Submission{Source: source, Prompt: imagePrompt(name)})
			assertField(t, err, "prompt.3.inputs.image")
		}
	}
	for _, name := range []string{"sub/photo.png", "x.png [output]", "example.png"} {
		res, err := e.svc.Submit(context.Background(), job.Submission{Source: job.SourceREST, Prompt: imagePrompt(name)})
		if err != nil {
			t.Fatalf("%q refused: %v", name, err)
		}
		if got := storedGraph(t, e, res.ID)["3"].Inputs["image"]; got != name {
			t.Errorf("%q stored as %v", name, got)
		}
	}
}

// dispatch moves a job out of the queue, as the fleet does.
func dispatch(tb testing.TB, e *env, id string) {
	tb.Helper()
	if _, err := e.store.UpdateJob(context.Background(), id, func(j *job.Job) error {
		return j.TransitionTo(job.StateDispatched, time.Now())
	}); err != nil {
		tb.Fatal(err)
	}
}

// TestAdmission: at MaxQueued waiting jobs every surface is refused with
// an OverloadError; a dispatch makes room at once.
func TestAdmission(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxQueued = 2 })
	ctx := context.Background()
	var ids []string
	for range 2 {
		res, err := e.svc.Submit(ctx, rest("", job.Submission{Prompt: imagePrompt("")}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	for _, source := range []string{job.SourceREST, job.SourceComfy, job.SourceFlask} {
		_, err := e.svc.Submit(ctx, job.Submission{Source: source, Prompt: imagePrompt("")})
		var oe *OverloadError
		if !errors.As(err, &oe) || oe.RetryAfter != overloadRetry || !strings.Contains(oe.Message, "2 jobs waiting") {
			t.Errorf("%s: err = %v, want an OverloadError for 2 waiting jobs", source, err)
		}
	}
	dispatch(t, e, ids[0])
	if _, err := e.svc.Submit(ctx, rest("", job.Submission{Prompt: imagePrompt("")})); err != nil {
		t.Errorf("after a dispatch: %v", err)
	}
}

// TestQueuePosition: a waiting job's position counts the waiting jobs
// before it in dispatch order (priority, then submission), of every owner;
// the queued event carries it at submission.
func TestQueuePosition(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	submit := func(owner string, priority int) (string, int) {
		t.Helper()
		res, err := e.svc.Submit(ctx, job.Submission{Source: job.SourceREST, Owner: owner, Prompt: imagePrompt(""), Priority: priority})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := e.store.ListEvents(ctx, res.ID, 0, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("events of %s: %v %v", res.ID, evs, err)
		}
		var d job.QueuedData
		if err := json.Unmarshal(evs[0].Data, &d); err != nil || d.Position != *res.QueuePosition {
			t.Errorf("queued event %s, answer position %d", evs[0].Data, *res.QueuePosition)
		}
		return res.ID, d.Position
	}
	a, pa := submit("alice", 0)
	b, pb := submit("bob", 0)
	c, pc := submit("alice", 5)
	d, pd := submit("bob", -1)
	if diff := cmp.Diff([]int{0, 1, 0, 3}, []int{pa, pb, pc, pd}); diff != "" {
		t.Errorf("positions at submission (-want +got):\n%s", diff)
	}
	positions := func() []any {
		var out []any
		for _, id := range []string{a, b, c, d} {
			st, err := e.svc.GetJob(ctx, "", id)
			if err != nil {
				t.Fatal(err)
			}
			if st.QueuePosition == nil {
				out = append(out, nil)
			} else {
				out = append(out, *st.QueuePosition)
			}
		}
		return out
	}
	if diff := cmp.Diff([]any{1, 2, 0, 3}, positions()); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	dispatch(t, e, c)
	if diff := cmp.Diff([]any{0, 1, nil, 2}, positions()); diff != "" {
		t.Errorf("positions after the head left (-want +got):\n%s", diff)
	}
	page, err := e.svc.ListJobs(ctx, "bob", JobQuery{})
	if err != nil || len(page.Jobs) != 2 || *page.Jobs[0].QueuePosition != 2 || *page.Jobs[1].QueuePosition != 1 {
		t.Errorf("bob's list: %+v %v; want d at 2 and b at 1, counting alice's jobs", page.Jobs, err)
	}
}

// seedQueue stores n queued jobs directly, as other replicas would.
func seedQueue(tb testing.TB, e *env, n int) []*job.Job {
	tb.Helper()
	var out []*job.Job
	for i := range n {
		j, _, err := e.store.CreateJob(context.Background(), &job.Job{Graph: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// TestQueuePositionLongQueue: a long queue is read at most once a second;
// until then a dispatch is still counted, after it not. A job beyond the
// part read is counted by the store itself.
func TestQueuePositionLongQueue(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxQueued = shortQueue + 10 })
	ctx := context.Background()
	jobs := seedQueue(t, e, shortQueue+20)
	pos := func(j *job.Job) int {
		t.Helper()
		st, err := e.svc.GetJob(ctx, "", j.ID)
		if err != nil || st.QueuePosition == nil {
			t.Fatalf("GetJob: %+v %v", st, err)
		}
		return *st.QueuePosition
	}
	last := jobs[shortQueue]
	if got := pos(last); got != shortQueue {
		t.Fatalf("position %d, want %d", got, shortQueue)
	}
	dispatch(t, e, jobs[0].ID)
	if got := pos(last); got != shortQueue {
		t.Errorf("within a second of the read: position %d, want the read's %d", got, shortQueue)
	}
	e.now.Add(queueTTL)
	if got := pos(last); got != shortQueue-1 {
		t.Errorf("a second later: position %d, want %d", got, shortQueue-1)
	}
	beyond := jobs[len(jobs)-1] // past MaxQueued+1 keys: the store counts
	if got := pos(beyond); got != len(jobs)-2 {
		t.Errorf("job beyond the view: position %d, want %d", got, len(jobs)-2)
	}
	_, err := e.svc.Submit(ctx, rest("", job.Submission{Prompt: imagePrompt("")}))
	var oe *OverloadError
	if !errors.As(err, &oe) {
		t.Errorf("submit over a long queue: err = %v, want OverloadError", err)
	}
}

// TestInputExists answers validation's file checks for one owner.
func TestInputExists(t *testing.T) {
	names := fakeNames{ResolveNameFunc: func(_ context.Context, owner, value string) (string, bool, error) {
		return "x", owner == "alice" && value == "photo.png", nil
	}}
	e := newEnv(t, func(c *Config) { c.Names = names })
	ctx := context.Background()
	up, err := e.svc.Upload(ctx, "alice", bytes.NewReader(pngBytes(t, 1, 1)), "a.png", "")
	if err != nil {
		t.Fatal(err)
	}
	staged := StagedPrefix + up.ID + ".png"
	for _, tt := range []struct {
		owner, name string
		want        bool
	}{
		{"alice", staged, true}, {"bob", staged, false},
		{"alice", "photo.png", true}, {"bob", "photo.png", false},
		{"bob", "example.png", true}, {"bob", "nope.png", false},
	} {
		if got := e.svc.InputExists(ctx, tt.owner)(tt.name); got != tt.want {
			t.Errorf("%s: InputExists(%q) = %v, want %v", tt.owner, tt.name, got, tt.want)
		}
	}
}

// TestSubscribeOwner follows every job of one owner and none of another's.
func TestSubscribeOwner(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := e.svc.SubscribeOwner(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := e.svc.Submit(ctx, rest("bob", job.Submission{Prompt: imagePrompt("")})); err != nil {
		t.Fatal(err)
	}
	mine, err := e.svc.Submit(ctx, rest("alice", job.Submission{Prompt: imagePrompt("")}))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.Event
	select {
	case ev = <-sub.C():
	case <-ctx.Done():
		t.Fatal("no event")
	}
	if ev.JobID != mine.ID {
		t.Errorf("alice's stream got %s's event", ev.JobID)
	}
}
