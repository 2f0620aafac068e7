package comfyapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// counter is ComfyUI's prompt counter, gateway-wide: it numbers prompts
// that give no "number" and advances on every POST /prompt whose body
// parses, rejected ones included.
type counter struct {
	mu sync.Mutex // guards n
	n  int64
}

// load continues after the newest counter-numbered prompt in the store,
// so numbers keep growing across restarts (ComfyUI itself starts at 0).
func (c *counter) load(ctx context.Context, s Store) error {
	jobs, _, err := s.ListJobs(ctx, job.JobFilter{Source: job.SourceComfy, Limit: 50})
	if err != nil {
		return fmt.Errorf("comfyapi: load prompt counter: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range jobs {
		n := job.ComfyMetaOf(j).Number
		if n == "" || strings.ContainsAny(string(n), ".eE") {
			continue // a client's own number
		}
		if v, err := n.Int64(); err == nil {
			c.n = max(c.n, abs64(v)+1)
		}
	}
	return nil
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// next returns the counter value to use and advances it.
func (c *counter) next() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n++
	return n
}

// value is the counter now.
func (c *counter) value() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// number is a prompt's queue number: as shown and as a priority.
type number struct {
	lit   json.Number
	value float64
	// tier is the job priority that reproduces ComfyUI's run order within
	// comfygate's priority queue: negative numbers (front) run first, a
	// client's number below the counter next, counter numbers FIFO.
	tier int
}

// assignNumber is post_prompt's priority: a client "number" as a float,
// else the counter, negated with "front"; the counter advances for every
// body that got that far.
func (h *Handler) assignNumber(advances bool, body *workflow.PromptBody) (number, error) {
	if body != nil && body.Number != nil {
		lit, ok := floatRepr(*body.Number)
		if !ok {
			return number{}, fmt.Errorf("number must be finite, got %v", *body.Number)
		}
		return number{lit: json.Number(lit), value: *body.Number, tier: h.tierOf(*body.Number)}, nil
	}
	if !advances {
		return number{}, nil
	}
	n := h.counter.next()
	if body != nil && body.Front {
		n = -n
	}
	return number{lit: json.Number(strconv.FormatInt(n, 10)), value: float64(n), tier: h.tierOf(float64(n))}, nil
}

func (h *Handler) tierOf(v float64) int {
	switch {
	case v < 0:
		return 2
	case v < float64(h.counter.value())-1 && !math.IsNaN(v):
		return 1
	}
	return 0
}

// advancesCounter tells whether ComfyUI gets as far as incrementing its
// counter for a body DecodePromptBody refused: it must parse, and
// `"number" in body` and the "front" lookup must not raise or divert.
func advancesCounter(data []byte) bool {
	v, err := decodeJSON(data)
	if err != nil {
		return false
	}
	has, err := pyContains(v, "number")
	if err != nil || has {
		return false
	}
	hasFront, err := pyContains(v, "front")
	if err != nil {
		return false
	}
	if _, isObj := v.(map[string]any); hasFront && !isObj {
		return false // json_data['front'] raises on a list or a string
	}
	return true
}
