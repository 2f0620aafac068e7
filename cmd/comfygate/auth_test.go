package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestServeAPIKeys: with keys configured (one given in clear, one as its
// hash), the API needs a key, each key sees only its own jobs, and the
// probes stay open.
func TestServeAPIKeys(t *testing.T) {
	const aliceKey, bobKey = "alice-key-0123456789", "bob-key-0123456789"
	bobHash := sha256.Sum256([]byte(bobKey))
	sim := comfysim.Start(t, comfysim.Options{})
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", sim.URL(),
		"--api-key", "alice:"+aliceKey, "--api-key", "bob:sha256:"+hex.EncodeToString(bobHash[:]))
	c := newAPIClient(t, g.URL)
	c.waitReady()
	alice := []string{"Authorization", "Bearer " + aliceKey}
	bob := []string{"X-API-Key", bobKey}

	c.must(http.StatusUnauthorized, "GET", "/v1/jobs", nil)
	c.must(http.StatusUnauthorized, "GET", "/v1/jobs", nil, "Authorization", "Bearer wrong-key-0123456789")
	c.must(http.StatusOK, "GET", "/healthz", nil)
	c.must(http.StatusUnauthorized, "GET", "/api/workflows", nil) // the Flask-compatible surface too
	c.must(http.StatusOK, "GET", "/api/workflows", nil, alice...)

	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t), alice...)
	j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 1}}, alice...)
	c.must(http.StatusOK, "GET", "/v1/jobs/"+j.ID, nil, alice...)
	c.must(http.StatusNotFound, "GET", "/v1/jobs/"+j.ID, nil, bob...)
	var list api.JobList
	c.must(http.StatusOK, "GET", "/v1/jobs", nil, bob...).decode(t, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("bob sees %d jobs, want none of alice's", len(list.Jobs))
	}
}
