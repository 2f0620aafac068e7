//go:build clientcompat_scratch

// Temporary harness (to be deleted): the comfyapi surface in front of a real
// fleet, until internal/server mounts it.
package clientcompat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

type scratchBlobs struct{ s artifact.Store }

func (b scratchBlobs) PutBlob(ctx context.Context, r io.Reader, ct string) (string, int64, error) {
	info, err := b.s.Put(ctx, r, artifact.PutOptions{ContentType: ct})
	return info.ID, info.Size, err
}

func (b scratchBlobs) OpenBlob(ctx context.Context, id string) (io.ReadCloser, error) {
	blob, err := b.s.Open(ctx, id)
	if errors.Is(err, artifact.ErrNotFound) {
		return nil, fleet.ErrBlobNotFound
	}
	return blob, err
}

func TestScratchComfyAPI(t *testing.T) {
	e := needEnv(t)
	hc := httpClient(t)
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "db"), Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	arts, err := artifact.NewLocal(filepath.Join(dir, "artifacts"), artifact.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hub := events.NewHub(events.Options{})
	t.Cleanup(hub.Close)
	var backends []fleet.BackendConfig
	for i := range 2 {
		s := comfysim.Start(t, simOptions())
		backends = append(backends, fleet.BackendConfig{ID: fmt.Sprintf("sim-%d", i+1), URL: s.URL()})
	}
	late := &comfyapi.TapLater{}
	f, err := fleet.New(fleet.Config{Backends: backends, Store: st, Artifacts: scratchBlobs{arts}, Hub: hub, Tap: late, InstanceID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := comfyapi.New(comfyapi.Config{Store: st, Artifacts: arts, Hub: hub, Fleet: comfyapi.FleetOf(f)})
	if err != nil {
		t.Fatal(err)
	}
	late.Set(h)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.Stop(ctx)
		srv.CloseClientConnections()
		srv.Close()
		_ = f.Stop(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	waitFor(t, ctx, "catalog", func() bool { return f.Catalog() != nil })
	runClients(t, e, hc, srv.URL)
}
