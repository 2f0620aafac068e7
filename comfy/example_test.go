package comfy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/comfygate/comfygate/comfy"
)

func ExampleDecodeMessage() {
	ev, err := comfy.DecodeMessage([]byte(`{"type": "executing", "data": {"node": null, "prompt_id": "p1"}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.EventType(), comfy.IsTerminal(ev, "p1"))
	// Output: executing true
}

func ExampleDecodeBinaryFrame() {
	frame := comfy.EncodeText("12", "Image size: 512x512")
	ev, err := comfy.DecodeBinaryFrame(frame)
	if err != nil {
		panic(err)
	}
	t := ev.(comfy.ProgressText)
	fmt.Printf("node %s: %s\n", t.NodeID, t.Text)
	// Output: node 12: Image size: 512x512
}

func ExampleSortRunOrder() {
	// GET /queue returns the server's heap, not the run order.
	var q comfy.QueueStatus
	body := `{"queue_running": [], "queue_pending": [[-40, "c", {}, {}, ["9"]], [39, "a", {}, {}, ["9"]], [7.5, "b", {}, {}, ["9"]]]}`
	if err := json.Unmarshal([]byte(body), &q); err != nil {
		panic(err)
	}
	comfy.SortRunOrder(q.Pending)
	for _, it := range q.Pending {
		fmt.Println(it.Number, it.PromptID)
	}
	// Output:
	// -40 c
	// 7.5 b
	// 39 a
}

func ExampleRunTracker() {
	tr := comfy.NewRunTracker("p1")
	node := "9"
	for _, ev := range []comfy.Event{
		comfy.ExecutionStart{PromptID: "p1"},
		comfy.Executing{Node: &node, DisplayNode: &node, PromptID: "p1"},
		comfy.ExecutionError{PromptID: "p1", ExceptionType: comfy.ExceptionExecutionBlocked}, // not terminal
		comfy.ExecutionSuccess{PromptID: "p1"},
		comfy.Executing{PromptID: "p1"}, // node null: the end
	} {
		if tr.Observe(ev) {
			fmt.Println("done:", tr.Outcome())
		}
	}
	// Output: done: success
}

func ExampleClient_QueuePrompt() {
	// A stand-in for ComfyUI answering as it does when every output fails.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}, "node_errors": {"3": {"errors": [{"type": "required_input_missing", "message": "Required input is missing", "details": "width", "extra_info": {"input_name": "width"}}], "dependent_outputs": ["4"], "class_type": "ImageScale"}}}`)
	}))
	defer srv.Close()

	c, err := comfy.NewClient(srv.URL)
	if err != nil {
		panic(err)
	}
	_, err = c.QueuePrompt(context.Background(), comfy.PromptRequest{Prompt: json.RawMessage(`{}`), ClientID: "me"})
	var pe *comfy.PromptError
	if errors.As(err, &pe) {
		for id, ne := range pe.NodeErrors {
			fmt.Printf("node %s (%s): %s\n", id, ne.ClassType, ne.Errors[0].Error())
		}
	}
	// Output: node 3 (ImageScale): Required input is missing: width
}
