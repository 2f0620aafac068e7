package gateway

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
)

func TestReadyReflectsArtifacts(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "artifacts")
	arts, err := artifact.NewLocal(dir, artifact.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arts.Close() })
	cfg := e.svc.cfg
	cfg.Artifacts = arts
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// The directory goes away, as an unmounted disk's would.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := svc.Ready(ctx); err == nil || !strings.HasPrefix(err.Error(), "artifacts: ") {
		t.Errorf("Ready without the artifact directory = %v, want an artifacts error", err)
	}
}
