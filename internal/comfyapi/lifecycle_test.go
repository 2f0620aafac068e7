package comfyapi

import (
	"context"
	"errors"
	"testing"

	"github.com/comfygate/comfygate/internal/lifecycle"
)

func TestStartStopContract(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.h.Start(ctx); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("second Start = %v, want lifecycle.ErrStarted", err)
	}
	idle, err := New(e.h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Stop(ctx); err != nil {
		t.Errorf("Stop before Start = %v, want nil", err)
	}
	if err := e.h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Stop(ctx); err != nil { // and the env's cleanup stops it again
		t.Errorf("second Stop = %v, want the first one's result (nil)", err)
	}
}
