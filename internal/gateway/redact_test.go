package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// leaks are what no user key may read in a backend's or the system's
// words: IP addresses, directories, a subprocess's arguments.
var leaks = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|fd00:|/home/|/opt/|/usr/|/srv/|C:\\|gpu-1\.internal|secret-model|-hwaccel`)

// realErrors are errors as Go and ComfyUI word them: the network ones are
// made here, over loopback, the way the fleet meets them.
func realErrors(t *testing.T) map[string]string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	_, postErr := client.Post("http://"+closed+"/prompt", "application/json", strings.NewReader("{}"))
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", closed)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, dnsErr := r.LookupHost(ctx, "gpu-1.internal")
	if postErr == nil || dnsErr == nil {
		t.Fatalf("wanted failures, got %v and %v", postErr, dnsErr)
	}
	return map[string]string{
		"connection refused": "submit to backend failed: " + postErr.Error(),
		"resolver":           "probe: " + dnsErr.Error(),
		"reset":              "socket down: read tcp 127.0.0.1:51324->10.0.0.5:8188: read: connection reset by peer",
		"ipv6":               "socket down: dial tcp [fd00::5]:8188: connect: network is unreachable",
		"missing model":      "FileNotFoundError: [Errno 2] No such file or directory: '/home/comfy/ComfyUI/models/checkpoints/secret-model.safetensors'",
		"not an image":       "PIL.UnidentifiedImageError: cannot identify image file '/srv/comfy/input/comfygate/ab12.png'",
		"windows":            `OSError: [WinError 3] The system cannot find the path specified: 'C:\ComfyUI\models\loras\secret-model.safetensors'`,
		"subprocess":         "CalledProcessError: Command '['/usr/bin/ffmpeg', '-hwaccel', 'cuda', '-i', '/opt/in.mp4', 'out.mp4']' returned non-zero exit status 1.",
		"traceback frame":    "  File \"/opt/ComfyUI/execution.py\", line 496, in execute\n    output_data, output_ui = await get_output_data(prompt_id)\n",
	}
}

func TestPublicTextHidesWhere(t *testing.T) {
	keeps := map[string][]string{
		"connection refused": {"submit to backend failed", "/prompt", "connection refused"},
		"resolver":           {"probe: lookup", "refused"},
		"reset":              {"connection reset by peer"},
		"ipv6":               {"network is unreachable"},
		"missing model":      {"No such file or directory", "secret-model.safetensors"},
		"not an image":       {"cannot identify image file 'ab12.png'"},
		"windows":            {"cannot find the path", "secret-model.safetensors"},
		"subprocess":         {"returned non-zero exit status 1"},
		"traceback frame":    {`File "execution.py", line 496, in execute`, "get_output_data(prompt_id)"},
	}
	for name, text := range realErrors(t) {
		got := PublicText(text)
		t.Logf("%s:\n  %q\n→ %q", name, text, got)
		// The model's file name is what a caller needs; its directory is not.
		if m := leaks.FindString(strings.ReplaceAll(got, "secret-model.safetensors", "")); m != "" {
			t.Errorf("%s: %q still shows %q (from %q)", name, got, m, text)
		}
		for _, k := range keeps[name] {
			if !strings.Contains(got, k) {
				t.Errorf("%s: %q lost %q (from %q)", name, got, k, text)
			}
		}
	}
	for _, plain := range []string{
		"node 3 (KSampler): steps must be ≥ 1",
		"out of memory on sim-1: CUDA out of memory. Tried to allocate 2.00 GiB",
		"probe: GET /object_info answered 500",
		"std::vector<float> at 12:30:45",
		"the run was interrupted on the backend, not by comfygate",
	} {
		if got := PublicText(plain); got != plain {
			t.Errorf("PublicText(%q) = %q; nothing to hide there", plain, got)
		}
	}
}

// TestErrorTextsForUsersAndAdmins: a user key reads its jobs' errors,
// tracebacks, attempt errors and retry reasons without addresses or
// paths; an admin reads its own whole.
func TestErrorTextsForUsersAndAdmins(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Admins = []string{"root"} })
	ctx := context.Background()
	texts := realErrors(t)
	failed := func(owner string) string {
		j, _, err := e.store.CreateJob(ctx, &job.Job{Owner: owner, Source: job.SourceREST, Graph: imagePrompt(""),
			State: job.StateQueued, AttemptLog: []job.Attempt{{Backend: "b1", Outcome: "backend_lost", Error: texts["connection refused"]}},
			Error: &job.Error{Type: "FileNotFoundError", Message: texts["missing model"], Traceback: []string{texts["traceback frame"]}}})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	userJob, adminJob := failed("alice"), failed("root")

	st, err := e.svc.GetJob(ctx, "alice", userJob)
	if err != nil {
		t.Fatal(err)
	}
	shown := st.Error.Message + strings.Join(st.Error.Traceback, "") + st.AttemptLog[0].Error
	if m := leaks.FindString(strings.ReplaceAll(shown, "secret-model.safetensors", "")); m != "" {
		t.Errorf("alice reads %q in her job's error: %s", m, shown)
	}
	if !strings.Contains(shown, "connection refused") || !strings.Contains(shown, "secret-model.safetensors") {
		t.Errorf("alice's job error lost what went wrong: %s", shown)
	}
	stored, _ := e.store.GetJob(ctx, userJob)
	if stored.Error.Message != texts["missing model"] {
		t.Errorf("the store's copy was changed: %q", stored.Error.Message)
	}
	page, err := e.svc.ListJobs(ctx, "alice", JobQuery{})
	if err != nil || len(page.Jobs) != 1 || page.Jobs[0].Error.Message != st.Error.Message {
		t.Errorf("ListJobs shows alice another text: %+v, %v", page.Jobs, err)
	}

	adm, err := e.svc.GetJob(ctx, "root", adminJob)
	if err != nil {
		t.Fatal(err)
	}
	if adm.Error.Message != texts["missing model"] || adm.AttemptLog[0].Error != texts["connection refused"] ||
		!slices.Equal(adm.Error.Traceback, []string{texts["traceback frame"]}) {
		t.Errorf("the admin's job error is not whole: %+v", adm.Error)
	}

	retry := events.Event{JobID: userJob, Type: job.EventRetrying, Data: job.EncodeData(job.RetryingData{Attempt: 1, Reason: texts["connection refused"]})}
	var d job.RetryingData
	if err := json.Unmarshal(e.svc.ShownEvent("alice", retry).Data, &d); err != nil {
		t.Fatal(err)
	}
	if leaks.MatchString(d.Reason) || !strings.Contains(d.Reason, "connection refused") {
		t.Errorf("alice's retry reason: %q", d.Reason)
	}
	if got := e.svc.ShownEvent("root", retry); string(got.Data) != string(retry.Data) {
		t.Errorf("the admin's retry reason changed: %s", got.Data)
	}
}

// TestFetchErrorsHideTheResolver: a URL input that cannot be fetched
// names the parameter and why, without the resolver's address.
func TestFetchErrorsHideTheResolver(t *testing.T) {
	dnsErr := &net.DNSError{Err: "no such host", Name: "images.example", Server: "10.0.0.2:53", IsNotFound: true}
	fetcher := fakeFetcher{FetchFunc: func(context.Context, string) error {
		return errors.Join(errors.New("fetch from host images.example"), dnsErr)
	}}
	e := newEnv(t, func(c *Config) { c.Fetcher = fetcher })
	_, err := e.svc.Submit(context.Background(), rest("alice", job.Submission{Prompt: imagePrompt("https://images.example/cat.png")}))
	assertField(t, err, "prompt.3.inputs.image")
	if msg := err.Error(); strings.Contains(msg, "10.0.0.2") || !strings.Contains(msg, "no such host") {
		t.Errorf("refusal = %q", msg)
	}
}

// fakeFetcher is a Fetcher whose fetches fail as FetchFunc says.
type fakeFetcher struct {
	FetchFunc func(ctx context.Context, url string) error
}

func (f fakeFetcher) Fetch(ctx context.Context, url string) (io.ReadCloser, string, error) {
	return nil, "", f.FetchFunc(ctx, url)
}
