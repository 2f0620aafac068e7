package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

func TestZZTiming(t *testing.T) {
	template := seededDir(t)
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), "d")
		copyDir(t, template, dir)
		ctx := context.Background()
		t0 := time.Now()
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, dbFile)})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		a, _ := st.ActiveJobs(ctx)
		t2 := time.Now()
		q, _ := st.DispatchOrder(ctx, 1000)
		t3 := time.Now()
		_, _ = artifact.NewLocal(filepath.Join(dir, artifactsDir), artifact.LocalOptions{})
		t4 := time.Now()
		st.Close()
		t.Logf("%d open %v active(%d) %v dispatch(%d) %v arts %v", i, t1.Sub(t0), len(a), t2.Sub(t1), len(q), t3.Sub(t2), t4.Sub(t3))
		s, _ := New(Config{Listen: "127.0.0.1:0", DataDir: dir, SimBackends: 1})
		t5 := time.Now()
		s.Start(ctx)
		t6 := time.Now()
		t.Logf("start %v", t6.Sub(t5))
		s.Stop(ctx)
	}
}
