package comfy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// basicGraph is the graph of capture 02: EmptyImage → ImageInvert →
// ImageScale → SaveImage, with a seed-sized colour to check number handling.
const basicGraph = `{
 "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 3368652}},
 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
 "3": {"class_type": "ImageScale", "inputs": {"image": ["2", 0], "upscale_method": "bilinear", "width": 96, "height": 72, "crop": "disabled"}},
 "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "it/basic"}}
}`

func simCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// TestSimulatorRunsPrompt runs one prompt end to end against the simulator:
// watch the socket, submit, follow the run to its terminal event, read the
// history entry and download the saved image.
func TestSimulatorRunsPrompt(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	ctx := simCtx(t)
	c, err := comfy.NewClient(sim.URL(), comfy.WithAPIPrefix(true))
	if err != nil {
		t.Fatal(err)
	}
	w, err := comfy.StartWatcher(ctx, comfy.WatcherConfig{
		BaseURL: sim.URL(), ClientID: "it-client",
		Dial: comfy.DialOptions{FeatureFlags: comfy.FeatureFlags{comfy.FlagSupportsPreviewMetadata: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if ce := waitConnection(t, w); ce.State != comfy.StateConnected || ce.SID != "it-client" {
		t.Fatalf("watcher: %+v", ce)
	}

	resp, err := c.QueuePrompt(ctx, comfy.PromptRequest{Prompt: json.RawMessage(basicGraph), ClientID: w.ClientID()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.PromptID == "" || resp.PartiallyValid() {
		t.Fatalf("queue prompt: %+v", resp)
	}
	tr := comfy.NewRunTracker(resp.PromptID)
	for !tr.Done() {
		select {
		case ev := <-w.Events():
			if ce, ok := ev.(comfy.ConnectionEvent); ok && ce.State == comfy.StateDisconnected {
				t.Fatalf("socket dropped: %v", ce.Err)
			}
			tr.Observe(ev)
		case <-ctx.Done():
			t.Fatal("run did not finish")
		}
	}
	if tr.Outcome() != comfy.OutcomeSuccess {
		t.Fatalf("outcome %q err %+v", tr.Outcome(), tr.Err())
	}

	entry, err := c.PromptHistory(ctx, resp.PromptID)
	if err != nil {
		t.Fatal(err)
	}
	if entry.Status.Outcome() != comfy.EventExecutionSuccess || entry.Prompt.PromptID != resp.PromptID {
		t.Errorf("history status %+v", entry.Status)
	}
	files, err := comfy.NodeOutputFiles(entry.Outputs["4"])
	if err != nil || len(files) != 1 || files[0].Type != comfy.FileTypeOutput {
		t.Fatalf("outputs %v, %v", files, err)
	}
	v, err := c.View(ctx, files[0].FileRef, comfy.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Body.Close()
	head := make([]byte, 8)
	if _, err := io.ReadFull(v.Body, head); err != nil || !bytes.Equal(head, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("view: %q %v (content type %s)", head, err, v.ContentType)
	}
}

func TestSimulatorRejectsAndLists(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	ctx := simCtx(t)
	c, err := comfy.NewClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.QueuePrompt(ctx, comfy.PromptRequest{Prompt: json.RawMessage(`{"1": {"class_type": "NoSuchNode", "inputs": {}}}`)})
	var pe *comfy.PromptError
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Info.Type != "invalid_prompt" {
		t.Errorf("unknown class: err = %v", err)
	}
	if _, err := c.NodeInfo(ctx, "NoSuchNode"); !errors.Is(err, comfy.ErrNotFound) {
		t.Errorf("NodeInfo(unknown) = %v", err)
	}
	def, err := c.NodeInfo(ctx, "SaveImage")
	if err != nil || !def.OutputNode {
		t.Errorf("NodeInfo(SaveImage) = %+v, %v", def, err)
	}
	if q, err := c.Queue(ctx); err != nil || len(q.Running)+len(q.Pending) != 0 {
		t.Errorf("Queue = %+v, %v", q, err)
	}
	if st, err := c.SystemStats(ctx); err != nil || st.System.ComfyUIVersion == "" {
		t.Errorf("SystemStats = %+v, %v", st, err)
	}
	if _, err := c.PromptHistory(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, comfy.ErrNotFound) {
		t.Errorf("PromptHistory(unknown) = %v", err)
	}
	if ff, err := c.Features(ctx); err != nil || !ff.Bool(comfy.FlagSupportsPreviewMetadata) {
		t.Errorf("Features = %v, %v", ff, err)
	}
}

// TestSimulatorUploadAndView uploads a file and reads it back through /view.
func TestSimulatorUploadAndView(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	ctx := simCtx(t)
	c, err := comfy.NewClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\x89PNG\r\n\x1a\nnot really a png")
	up := comfy.Upload{Name: "it.png", Body: bytes.NewReader(data), Subfolder: "it", Size: int64(len(data))}
	res, err := c.UploadImage(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "it.png" || res.Subfolder != "it" || res.Type != comfy.FileTypeInput {
		t.Fatalf("upload result %+v", res)
	}
	v, err := c.View(ctx, comfy.FileRef{Filename: res.Name, Subfolder: res.Subfolder, Type: res.Type}, comfy.ViewOptions{Range: "bytes=0-7"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Body.Close()
	got, err := io.ReadAll(v.Body)
	if err != nil || !bytes.Equal(got, data[:8]) {
		t.Errorf("ranged view: %q, %v (status %d)", got, err, v.Status)
	}
}

func waitConnection(tb testing.TB, w *comfy.Watcher) comfy.ConnectionEvent {
	tb.Helper()
	for {
		select {
		case ev := <-w.Events():
			if ce, ok := ev.(comfy.ConnectionEvent); ok {
				return ce
			}
		case <-time.After(time.Minute):
			tb.Fatal("no connection event")
		}
	}
}
