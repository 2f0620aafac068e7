package main

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestBackendsCLIEndToEnd drives `comfygate backends` against the real
// server: a simulator is tested, added, drained, resumed and removed.
func TestBackendsCLIEndToEnd(t *testing.T) {
	first, second := comfysim.Start(t, comfysim.Options{}), comfysim.Start(t, comfysim.Options{})
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", first.URL())
	waitHealthy(t, g.URL)
	cli := func(args ...string) cliResult { t.Helper(); return mustCLI(t, append(args, "--server", g.URL)...) }
	fails := func(want string, args ...string) {
		t.Helper()
		r := runCLI(t, append(args, "--server", g.URL)...)
		if r.err == nil || !strings.Contains(r.err.Error(), want) {
			t.Errorf("comfygate %s: %v, want an error saying %q", strings.Join(args, " "), r.err, want)
		}
	}

	var p api.BackendProbe
	if err := json.Unmarshal([]byte(cli("backends", "test", second.URL(), "--json").stdout), &p); err != nil {
		t.Fatal(err)
	}
	if p.URL != second.URL() || p.Version == "" || p.NodeCount == 0 {
		t.Errorf("probe %+v: want the url, a version and node classes", p)
	}
	fails("refused", "backends", "test", closedURL(t))

	if out := cli("backends", "add", second.URL(), "--id", "gpu2", "--max-inflight", "1").stdout; !strings.HasPrefix(out, "added backend gpu2 ("+second.URL()+"): ") {
		t.Errorf("add said %q", out)
	}
	fails("409", "backends", "add", second.URL(), "--id", "gpu2")
	fails("must start with http", "backends", "add", "localhost:8188")
	waitBackendState(t, g.URL, "gpu2", "healthy")

	for _, step := range []struct{ verb, want string }{
		{"drain", "draining backend gpu2 (" + second.URL() + "): draining\n"},
		{"resume", "resumed backend gpu2 (" + second.URL() + "): "},
		{"remove", "removed backend gpu2\n"},
	} {
		if out := cli("backends", step.verb, "gpu2").stdout; !strings.HasPrefix(out, step.want) {
			t.Errorf("%s said %q, want %q", step.verb, out, step.want)
		}
	}
	fails("not found", "backends", "remove", "gpu2")
	fails("not found", "backends", "drain", "gpu2")
	if ids := backendIDs(t, g.URL); !slices.Equal(ids, []string{"backend-1"}) {
		t.Errorf("backends after remove: %v", ids)
	}
}

// TestBackendsCLIAdminKey: with keys, a key given as id:key:admin may
// change the fleet and a plain one may not.
func TestBackendsCLIAdminKey(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", sim.URL(),
		"--api-key", "app:app-key-0123456789", "--api-key", "ops:ops-key-0123456789:admin")
	r := runCLI(t, "backends", "drain", "backend-1", "--server", g.URL, "--key", "app-key-0123456789")
	if r.err == nil || !strings.Contains(r.err.Error(), "403") {
		t.Fatalf("drain with a plain key: %v, want a 403", r.err)
	}
	out := mustCLI(t, "backends", "drain", "backend-1", "--server", g.URL, "--key", "ops-key-0123456789").stdout
	if !strings.HasSuffix(out, ": draining\n") {
		t.Fatalf("drain with the admin key said %q", out)
	}
	mustCLI(t, "backends", "--server", g.URL, "--key", "app-key-0123456789") // listing needs no admin
}

// waitBackendState asks `backends list` until backend id is in state.
// The pause between asks only saves CPU.
func waitBackendState(tb testing.TB, url, id, state string) {
	tb.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		var list api.BackendList
		r := runCLI(tb, "backends", "--json", "--server", url)
		if r.err == nil && json.Unmarshal([]byte(r.stdout), &list) == nil &&
			slices.ContainsFunc(list.Backends, func(b api.Backend) bool { return b.ID == id && b.State == state }) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backend %s never became %s: %v\n%s", id, state, r.err, r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func backendIDs(tb testing.TB, url string) []string {
	tb.Helper()
	var list api.BackendList
	if err := json.Unmarshal([]byte(mustCLI(tb, "backends", "--json", "--server", url).stdout), &list); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, b := range list.Backends {
		ids = append(ids, b.ID)
	}
	return ids
}

// closedURL is a loopback URL where nothing listens.
func closedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
