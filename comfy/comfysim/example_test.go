package comfysim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// A simulator mounted on an httptest server: queue a model-free prompt and
// poll its history, as a client of a real ComfyUI would. (Tests usually
// call comfysim.Start instead.)
func Example() {
	sim, err := comfysim.New(comfysim.Options{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	body := `{"prompt": {
		"1": {"class_type": "PrimitiveString", "inputs": {"value": "hello"}},
		"2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}}`
	resp, err := http.Post(srv.URL+"/prompt", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	var queued struct {
		PromptID string `json:"prompt_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&queued)
	resp.Body.Close()

	for {
		resp, err := http.Get(srv.URL + "/history/" + queued.PromptID)
		if err != nil {
			panic(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var h map[string]struct {
			Outputs map[string]struct {
				Text []string `json:"text"`
			} `json:"outputs"`
			Status struct {
				StatusStr string `json:"status_str"`
			} `json:"status"`
		}
		_ = json.Unmarshal(data, &h)
		if e, ok := h[queued.PromptID]; ok {
			fmt.Println(e.Status.StatusStr, e.Outputs["2"].Text)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: success [hello]
}
