package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// TestUploadsOwnedPerKey: the same bytes uploaded by two keys are each
// one's to read and to use as an input; a key that uploaded nothing gets
// neither, and is told which field it gave the id in.
func TestUploadsOwnedPerKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := pngBytes(t, 3, 2)
	a, err := e.svc.Upload(ctx, "alice", bytes.NewReader(data), "cat.png", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Upload(ctx, "bob", bytes.NewReader(data), "cat.png", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Fatalf("the same bytes got two ids: %s %s", a.ID, b.ID)
	}
	for _, owner := range []string{"alice", "bob"} {
		f, err := e.svc.OpenArtifact(ctx, owner, a.ID)
		if err != nil {
			t.Fatalf("%s reads the bytes it uploaded: %v", owner, err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%s read %d bytes, want its upload", owner, len(got))
		}
		if _, err := e.svc.Submit(ctx, rest(owner, job.Submission{Prompt: imagePrompt(a.ID)})); err != nil {
			t.Errorf("%s runs its own upload: %v", owner, err)
		}
	}
	if _, err := e.svc.OpenArtifact(ctx, "carol", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("carol opens another key's upload: %v", err)
	}

	spec, _ := json.Marshal(map[string]any{"graph": json.RawMessage(readTestdata(t, "load-image.json")),
		"params": map[string]any{"photo": map[string]any{"target": "1.inputs.image", "type": "image"}}})
	if _, _, err := e.svc.PutWorkflow(ctx, "", "invert", spec); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, field string
		sub         job.Submission
	}{
		{"raw prompt", "prompt.3.inputs.image", job.Submission{Prompt: imagePrompt(a.ID)}},
		{"staged name", "prompt.3.inputs.image", job.Submission{Prompt: imagePrompt(StagedPrefix + a.ID + ".png")}},
		{"image parameter", "params.photo", job.Submission{Workflow: "invert", Params: map[string]any{"photo": a.ID}}},
		{"override", "overrides.1.inputs.image", job.Submission{Workflow: "invert",
			Overrides: map[string]map[string]any{"1": {"image": a.ID}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Submit(ctx, rest("carol", tt.sub))
			assertField(t, err, tt.field)
			if _, err := e.svc.Submit(ctx, rest("bob", tt.sub)); err != nil {
				t.Errorf("bob, who uploaded the same bytes: %v", err)
			}
		})
	}
}

// TestOutputsOwnedPerKey: two keys whose jobs wrote the same bytes each
// read their own output.
func TestOutputsOwnedPerKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	up, err := e.svc.Upload(ctx, "alice", bytes.NewReader(pngBytes(t, 2, 2)), "a.png", "")
	if err != nil {
		t.Fatal(err)
	}
	// bob's job wrote the same bytes as an output.
	if err := e.store.PutArtifact(ctx, &job.Artifact{ID: up.ID, Owner: "bob", JobID: "job-b", NodeID: "9", Filename: "out.png", Kind: job.ArtifactOutput}); err != nil {
		t.Fatal(err)
	}
	f, err := e.svc.OpenArtifact(ctx, "bob", up.ID)
	if err != nil {
		t.Fatalf("bob reads his job's output: %v", err)
	}
	defer f.Close()
	if f.Name() != "out.png" {
		t.Errorf("bob's copy is named %q, want his own record's name", f.Name())
	}
}

// TestLinkArtifactOnLocalDisk: a file on local disk has no presigned link:
// its owner is told to download it from comfygate; another key learns
// nothing (not found, as for a download); a lifetime out of range names
// the field. The S3 links are tested end to end in cmd/comfygate.
func TestLinkArtifactOnLocalDisk(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.Upload(ctx, "alice", bytes.NewReader(pngBytes(t, 3, 2)), "cat.png", "")
	if err != nil {
		t.Fatal(err)
	}
	var conflict *ConflictError
	if _, err := e.svc.LinkArtifact(ctx, "alice", a.ID, 0); !errors.As(err, &conflict) || conflict.Code != "links_unsupported" {
		t.Errorf("link on local disk: %v, want a links_unsupported conflict", err)
	}
	if _, err := e.svc.LinkArtifact(ctx, "carol", a.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("carol links another key's upload: %v, want not found", err)
	}
	for _, d := range []time.Duration{time.Millisecond, MaxLinkExpiry + time.Second} {
		var input *InputError
		if _, err := e.svc.LinkArtifact(ctx, "alice", a.ID, d); !errors.As(err, &input) || input.Field != "expires" {
			t.Errorf("link for %v: %v, want an error naming expires", d, err)
		}
	}
}
