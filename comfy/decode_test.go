package comfy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeTarget returns a pointer to the type the client decodes a captured
// body into, or nil for bodies the client does not decode.
func decodeTarget(r capturedResponse) any {
	route := r.Route()
	if !strings.HasPrefix(r.ContentType, "application/json") {
		return nil
	}
	switch {
	case route == "/prompt" && r.Method == "POST" && r.Status == 200:
		return new(PromptResponse)
	case route == "/prompt" && r.Method == "POST":
		return new(PromptErrorBody)
	case route == "/prompt":
		return new(PromptInfo)
	case route == "/queue":
		return new(QueueStatus)
	case strings.HasPrefix(route, "/history"):
		return new(History)
	case route == "/features":
		return new(FeatureFlags)
	case route == "/system_stats":
		return new(SystemStats)
	case strings.HasPrefix(route, "/object_info"):
		return new(ObjectInfo)
	case strings.HasPrefix(route, "/upload/"):
		return new(UploadResult)
	case route == "/embeddings", strings.HasPrefix(route, "/models"):
		return new([]string)
	}
	return nil
}

// TestDecodeCapturedBodies decodes every captured JSON body the client reads
// and re-encodes it: the result must be the same JSON value.
func TestDecodeCapturedBodies(t *testing.T) {
	t.Parallel()
	decoded := 0
	for _, r := range loadResponses(t) {
		target := decodeTarget(r)
		if target == nil {
			continue
		}
		decoded++
		t.Run(r.Name, func(t *testing.T) {
			if err := decodeUseNumber(r.Body, target); err != nil {
				t.Fatalf("decode %s: %v", r.BodyFile, err)
			}
			out, err := json.Marshal(target)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			assertSameJSON(t, r.Body, out)
		})
	}
	if decoded < 60 {
		t.Fatalf("only %d captured bodies decoded; testdata incomplete?", decoded)
	}
}

func TestQueueRunOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        []byte
		wantRunning []string
		wantPending []string // "number prompt_id"
	}{
		{
			name:        "file 15 heap is -40, 39, 7.5; runs -40, 7.5, 39",
			body:        findResponse(t, "15-get-queue-pending-list-is-the-raw-heap-not-sorted").Body,
			wantRunning: []string{"38 654cfa43-43f5-4f06-a4d5-4c55478e9d74"},
			wantPending: []string{"-40 690482d4-e9cc-475b-8cb8-47b3f2777d8f", "7.5 54971406-390c-4577-bfb5-4cc850065627", "39 90f914b1-44c7-4881-9de8-c45cd8e99bd2"},
		},
		{
			name:        "exponent number and tie broken by prompt_id",
			body:        readTestdata(t, "synthetic/queue-big-seed.json"),
			wantPending: []string{"-3 a", "15 a", "1.5e1 b"},
		},
		{
			name: "idle",
			body: findResponse(t, "04-get-queue-idle").Body,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q QueueStatus
			if err := json.Unmarshal(tt.body, &q); err != nil {
				t.Fatal(err)
			}
			SortRunOrder(q.Pending)
			if diff := cmp.Diff(tt.wantRunning, ids(q.Running)); diff != "" {
				t.Errorf("running (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPending, ids(q.Pending)); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
		})
	}
}

func ids(items []QueueItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Number)+" "+it.PromptID)
	}
	return out
}

func TestQueueItemFields(t *testing.T) {
	t.Parallel()
	var q QueueStatus
	if err := json.Unmarshal(findResponse(t, "04-get-queue-one-running-two-pending").Body, &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Running) != 1 || len(q.Pending) != 2 {
		t.Fatalf("got %d running, %d pending; want 1, 2", len(q.Running), len(q.Pending))
	}
	run := q.Running[0]
	if run.Number != "3" || run.ClientID() != "fixture-client-04" {
		t.Errorf("running number %q client %q", run.Number, run.ClientID())
	}
	if diff := cmp.Diff([]string{"3"}, run.OutputsToExecute); diff != "" {
		t.Errorf("outputs_to_execute (-want +got):\n%s", diff)
	}
	if _, running, ok := q.Find(q.Pending[0].PromptID); !ok || running {
		t.Errorf("Find(pending) = running %v, ok %v", running, ok)
	}
}

func TestBigSeedRoundTrip(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "synthetic/queue-big-seed.json")
	var q QueueStatus
	if err := json.Unmarshal(body, &q); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"18446744073709551615", "9007199254740993", "1.5e1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("re-encoded queue lost %s: %s", want, out)
		}
	}
	assertSameJSON(t, body, out)
}

func TestQueueItemErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, wantErr string }{
		{"object", `{"number": 1}`, "queue item"},
		{"too short", `[1]`, "at least 2"},
		{"number is string", `["1", "p"]`, "number: want a number, got string"},
		{"prompt_id is number", `[1, 2]`, "prompt_id: want a string, got number"},
		{"outputs not list", `[1, "p", {}, {}, {"a": 1}]`, "outputs_to_execute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q QueueItem
			err := json.Unmarshal([]byte(tt.in), &q)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestQueueItemCloudVariant(t *testing.T) {
	t.Parallel()
	var q QueueItem
	if err := json.Unmarshal([]byte(`[2, "p", {}, ["9"], {"client_id": "c"}]`), &q); err != nil {
		t.Fatal(err)
	}
	if q.ClientID() != "c" || len(q.OutputsToExecute) != 1 {
		t.Errorf("swapped elements not recognised: %+v", q)
	}
}
