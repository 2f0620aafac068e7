package comfysim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/queue"
	"github.com/comfygate/comfygate/workflow"
)

// item is a queued or running prompt: ComfyUI's 5-tuple plus what the
// worker needs.
type item struct {
	number    json.Number // as shown: 3, -40, 7.5
	priority  float64
	promptID  string
	prompt    comfyjson.Object // the validated prompt as ComfyUI shows it
	promptRaw []byte           // prompt, encoded once
	extra     any              // extra_data
	outputs   []string
	graph     workflow.Graph
	created   time.Time
	// answered is closed once the POST /prompt answer has been flushed, so
	// that a crash_node fault never beats the answer to the client.
	answered chan struct{}
}

// queueItem is the wire form, [number, prompt_id, prompt, extra_data,
// outputs_to_execute].
func (it *item) queueItem(extra any) comfy.QueueItem {
	return comfy.QueueItem{
		Number:           it.number,
		PromptID:         it.promptID,
		Prompt:           it.promptRaw,
		ExtraData:        comfyjson.MustDumps(extra),
		OutputsToExecute: append([]string{}, it.outputs...),
	}
}

func (s *Server) handlePostPrompt(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.logf("got prompt\n")
	data, err := s.readBody(r)
	if err != nil {
		s.bodyError(w, r, err)
		return
	}
	s.stats.received()
	body, err := workflow.DecodePromptBody(data)
	// A body that decoded is an object; only odd bodies need the full check.
	advances := err == nil && body.Number == nil || err != nil && advancesCounter(data)
	number := s.assignNumber(advances, body)
	if err != nil {
		s.stats.rejected()
		s.answerDecodeError(w, err)
		return
	}
	promptID := body.PromptID
	if !body.HasPromptID {
		promptID = newUUID()
	}
	res := s.catalog.Validate(body.Prompt, body.ValidateOptions(s.inputFileExists))
	if res.Err != nil {
		s.stats.rejected()
		internalError(w)
		return
	}
	if !res.OK() {
		s.stats.rejected()
		s.logf("invalid prompt: %s\n", res.Error.Message)
		writeJSON(w, http.StatusBadRequest, comfy.PromptErrorBody{Error: *res.Error, NodeErrors: res.NodeErrors})
		return
	}
	it, err := s.newItem(number, promptID, res, body)
	if err != nil {
		s.stats.rejected()
		internalError(w)
		return
	}
	s.put(it)
	defer close(it.answered)
	writeJSON(w, http.StatusOK, comfy.PromptResponse{PromptID: promptID, Number: number.lit, NodeErrors: res.NodeErrors})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) answerDecodeError(w http.ResponseWriter, err error) {
	var pe *comfy.PromptError
	if errors.As(err, &pe) {
		writeJSON(w, pe.Status, pe.Body())
		return
	}
	internalError(w)
}

type number struct {
	lit      json.Number
	priority float64
}

// assignNumber is post_prompt's priority: a client "number" as a float,
// else the counter (negated with "front"), which advances for every body
// that got that far.
func (s *Server) assignNumber(advances bool, body *workflow.PromptBody) number {
	if body != nil && body.Number != nil {
		return number{lit: json.Number(comfyjson.FloatJSON(*body.Number)), priority: *body.Number}
	}
	if !advances {
		return number{}
	}
	s.mu.Lock()
	n := s.number
	s.number++
	s.mu.Unlock()
	if body != nil && body.Front {
		n = -n
	}
	return number{lit: json.Number(strconv.FormatInt(n, 10)), priority: float64(n)}
}

func (s *Server) newItem(n number, promptID string, res workflow.Result, body *workflow.PromptBody) (*item, error) {
	raw, err := res.Graph.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode prompt: %w", err)
	}
	decoded, err := comfyjson.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("decode prompt: %w", err)
	}
	prompt, _ := decoded.(comfyjson.Object)
	extra, err := comfyjson.Decode(body.ExtraDataWithClientID())
	if err != nil {
		return nil, fmt.Errorf("decode extra_data: %w", err)
	}
	return &item{
		number:    n.lit,
		priority:  n.priority,
		promptID:  promptID,
		prompt:    prompt,
		promptRaw: comfyjson.MustDumps(prompt),
		extra:     extra,
		outputs:   res.Outputs,
		graph:     res.Graph,
		created:   s.opts.Now(),
		answered:  make(chan struct{}),
	}, nil
}

// put is PromptQueue.put: push, broadcast the new count, wake the worker.
func (s *Server) put(it *item) {
	s.mu.Lock()
	s.pending.Push(queue.Item[*item]{Number: it.priority, PromptID: it.promptID, Value: it})
	s.queueUpdatedLocked()
	s.mu.Unlock()
	s.signal()
}

func (s *Server) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// queueUpdatedLocked broadcasts the status message; s.mu must be held so
// that the count and the message order agree.
func (s *Server) queueUpdatedLocked() {
	s.emitLocked(comfy.StatusData{Status: s.queueInfoLocked()}, nil)
}

func (s *Server) queueInfoLocked() comfy.PromptInfo {
	n := s.pending.Len()
	if s.running != nil {
		n++
	}
	return comfy.PromptInfo{ExecInfo: comfy.ExecInfo{QueueRemaining: n}}
}

func (s *Server) handleGetPrompt(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	s.mu.Lock()
	info := s.queueInfoLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// advancesCounter tells whether ComfyUI gets as far as incrementing its
// counter for this body: it must parse, and `"number" in body` and the
// "front" lookup must not raise or divert.
func advancesCounter(data []byte) bool {
	v, err := comfyjson.Decode(data)
	if err != nil {
		return false
	}
	has, err := comfyjson.Contains(v, "number")
	if err != nil || has {
		return false
	}
	hasFront, err := comfyjson.Contains(v, "front")
	if err != nil {
		return false
	}
	if _, isObj := v.(comfyjson.Object); hasFront && !isObj {
		return false // json_data['front'] raises on a list or string
	}
	return true
}

// newUUID is str(uuid.uuid4()).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newHexID is uuid.uuid4().hex.
func newHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x", b[:])
}
