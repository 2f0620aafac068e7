package api_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
)

// TestBackendAdminWireShapes pins the JSON of the backend admin bodies,
// which the CLI and SDK send and read.
func TestBackendAdminWireShapes(t *testing.T) {
	shapes := map[string]any{
		"add":         api.AddBackendRequest{ID: "gpu2", URL: "http://10.0.0.9:8188", MaxInflight: 3, OutputDir: "/srv/comfyui/output"},
		"add minimal": api.AddBackendRequest{URL: "http://10.0.0.9:8188"},
		"test":        api.TestBackendRequest{URL: "http://10.0.0.9:8188"},
		"probe": api.BackendProbe{URL: "http://10.0.0.9:8188", LatencyMS: 3.5, Version: "0.3.64", NodeCount: 612, VRAMTotal: 8, VRAMFree: 4,
			Devices: []api.Device{{Name: "cuda:0", Type: "cuda", VRAMTotal: 8, VRAMFree: 4}}},
		"probe minimal": api.BackendProbe{URL: "http://10.0.0.9:8188"},
	}
	got, err := json.MarshalIndent(shapes, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "backend_admin.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
		t.Errorf("wire shapes changed (-want +got; run with -update if intended):\n%s", diff)
	}
}
