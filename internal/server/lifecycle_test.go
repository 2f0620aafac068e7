package server

import (
	"context"
	"errors"
	"testing"
)

func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop before Start = %v, want nil", err)
	}
	if err := s.Wait(context.Background()); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Wait before Start = %v, want ErrNotStarted", err)
	}
}
