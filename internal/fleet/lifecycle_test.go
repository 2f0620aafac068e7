package fleet

import (
	"context"
	"errors"
	"testing"

	"github.com/comfygate/comfygate/internal/lifecycle"
)

func TestStartStopContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, err := New(testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts()))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start = %v, want nil", err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("second Start = %v, want lifecycle.ErrStarted", err)
	}
	lctx := f.lifetime()
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(ctx); err != nil {
		t.Errorf("second Stop = %v, want the first one's result (nil)", err)
	}
	if lctx.Err() == nil {
		t.Error("the fleet's lifetime outlived Stop")
	}
}
