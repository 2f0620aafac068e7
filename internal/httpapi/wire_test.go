package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/job"
)

// The REST stream passes the domain's event names and payload bytes through
// (wireEvent): these tests fail when internal/job's vocabulary and api's
// wire types stop agreeing, so that a change to either is made on purpose.

func TestEventNamesAreTheWireNames(t *testing.T) {
	t.Parallel()
	wire := []string{api.EventQueued, api.EventPosition, api.EventDispatched, api.EventStarted,
		api.EventNode, api.EventProgress, api.EventPreview, api.EventOutput, api.EventRetrying,
		api.EventSucceeded, api.EventFailed, api.EventCancelled}
	if !slices.Equal(job.EventTypes(), wire) {
		t.Errorf("domain event types %v, wire event types %v", job.EventTypes(), wire)
	}
	f, _ := reflect.TypeFor[api.Event]().FieldByName("Type")
	if enum := strings.Split(f.Tag.Get("enum"), ","); !slices.Equal(enum, wire) {
		t.Errorf("api.Event.Type enum %v, want %v", enum, wire)
	}
	for _, typ := range job.EventTypes() {
		if job.TerminalEvent(typ) != api.TerminalEvent(typ) {
			t.Errorf("%s: terminal in the domain %v, on the wire %v", typ, job.TerminalEvent(typ), api.TerminalEvent(typ))
		}
	}
}

func TestEventPayloadsEncodeAsTheWireTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		domain any
		wire   any // a pointer to the wire type the payload must decode into
	}{
		{"queued", job.QueuedData{Position: 3}, &api.EventQueuedData{}},
		{"dispatched", job.DispatchedData{Backend: "gpu-1", Attempt: 2}, &api.EventDispatchedData{}},
		{"node", job.NodeData{Node: "3", NodeType: "KSampler", Cached: true}, &api.EventNodeData{}},
		{"node bare", job.NodeData{Node: "3"}, &api.EventNodeData{}},
		{"progress", job.Progress{Node: "3", NodeType: "KSampler", Value: 4, Max: 20, Fraction: 0.25, NodesDone: 1, NodesTotal: 7}, &api.Progress{}},
		{"progress start", job.Progress{}, &api.Progress{}},
		{"preview", job.PreviewData{Node: "3", ImageType: "image/jpeg", Image: []byte{0xff, 0xd8}}, &api.EventPreviewData{}},
		{"output file", job.OutputDataOf(job.Output{ArtifactID: "ab", ContentType: "image/png", Size: 9, NodeID: "9",
			Kind: "images", Filename: "x.png", Subfolder: "s", Type: "output"}), &api.Output{}},
		{"output text", job.OutputDataOf(job.Output{NodeID: "7", Kind: "text", Text: "hi"}), &api.Output{}},
		{"retrying", job.RetryingData{Attempt: 1, Reason: "backend_lost"}, &api.EventRetryingData{}},
		{"terminal", nil, &struct{}{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stored := job.EncodeData(tt.domain)
			dec := json.NewDecoder(bytes.NewReader(stored))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.wire); err != nil {
				t.Fatalf("stored payload %s does not decode as %T: %v", stored, tt.wire, err)
			}
			again, err := json.Marshal(tt.wire)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, stored) {
				t.Errorf("wire encoding %s, stored encoding %s", again, stored)
			}
		})
	}
}
