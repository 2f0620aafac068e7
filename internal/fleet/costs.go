package fleet

import (
	"strings"
	"sync"
	"time"
)

// A job's progress fraction is its share of the estimated run time done,
// not of its nodes: at step 10 of 20 of a graph whose sampling takes 97%
// of the time, a count of nodes says 64% while half the time is left.
// costModel estimates what each node of a graph costs, in seconds: from
// what this fleet measured for the node's class in earlier runs when it
// has, and otherwise from priors that make samplers dominate.

// Priors, in seconds on a mid-range GPU. Only their ratios matter until a
// class has been measured: a sampler step outweighs every other node, so
// sampling moves the bar through most of its length.
const (
	priorStepSecs    = 0.25 // one step of a sampler
	priorDefaultStep = 20   // steps assumed when the graph does not say
	priorHeavySecs   = 0.3  // a loader or a VAE pass, when not cached
	priorLightSecs   = 0.05 // anything else: text encoders, latents, saves
)

// samplerClasses report a `progress` message per step; their cost is their
// step count times the cost of a step. Other classes that turn out to send
// progress are learned as stepped (costModel.observe).
var samplerClasses = map[string]bool{
	"KSampler": true, "KSamplerAdvanced": true,
	"SamplerCustom": true, "SamplerCustomAdvanced": true,
}

// priorSecs is the cost of one run of a class that is not stepped.
func priorSecs(class string) float64 {
	switch {
	case strings.Contains(class, "Loader"),
		strings.HasPrefix(class, "VAEDecode"), strings.HasPrefix(class, "VAEEncode"):
		return priorHeavySecs
	}
	return priorLightSecs
}

// costAlpha is the weight of a new measurement in a class's moving
// average: recent runs count most (a backend swapped for a faster one is
// learned within a few jobs) without one outlier taking over.
const costAlpha = 0.3

// maxCostClasses bounds what the model remembers: class names come from
// graphs the fleet's catalog accepted, so the bound is never reached in
// practice; past it, new classes keep their priors.
const maxCostClasses = 4096

// costModel learns per-class node durations from the runs of this fleet.
// It is shared by every run and safe for concurrent use.
type costModel struct {
	mu      sync.Mutex // guards classes
	classes map[string]classCost
}

// classCost is what was measured of one class.
type classCost struct {
	unitSecs float64 // moving average: seconds per step, or per run if not stepped
	steps    float64 // moving average of the step count, for stepped classes
	stepped  bool    // the class sent progress messages
}

func newCostModel() *costModel { return &costModel{classes: map[string]classCost{}} }

// observe records that a node of class ran for d, reporting steps steps
// (0 when it sent no progress).
func (m *costModel) observe(class string, d time.Duration, steps float64) {
	if d <= 0 || class == "" {
		return
	}
	units := max(steps, 1)
	secs := d.Seconds() / units
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.classes[class]
	if !ok && len(m.classes) >= maxCostClasses {
		return
	}
	switch {
	case !ok:
		c = classCost{unitSecs: secs, steps: steps}
	case c.stepped && steps == 0:
		return // per-step seconds do not mix with a whole run's
	default:
		c.unitSecs += costAlpha * (secs - c.unitSecs)
		if steps > 0 {
			c.steps += costAlpha * (steps - c.steps)
		}
	}
	c.stepped = c.stepped || steps > 0
	m.classes[class] = c
}

// nodeCost is the estimate for one node.
type nodeCost struct {
	secs     float64 // the whole node
	unitSecs float64 // one step, when stepped
	stepped  bool
	// measured: unitSecs was measured on this fleet, so the node's pace
	// in this run (real seconds) may replace it; a prior may not, since
	// the other nodes of the graph would still be weighed by priors.
	measured bool
}

// estimate returns the cost of a node of class whose graph asks for
// steps steps (0: unknown).
func (m *costModel) estimate(class string, steps float64) nodeCost {
	m.mu.Lock()
	c, learned := m.classes[class]
	m.mu.Unlock()
	stepped := samplerClasses[class] || c.stepped
	if !stepped {
		if learned {
			return nodeCost{secs: c.unitSecs}
		}
		return nodeCost{secs: priorSecs(class)}
	}
	unit, measured := priorStepSecs, learned && c.stepped
	if measured {
		unit = c.unitSecs
	}
	if steps <= 0 {
		steps = priorDefaultStep
		if c.steps > 0 {
			steps = c.steps
		}
	}
	return nodeCost{secs: steps * unit, unitSecs: unit, stepped: true, measured: measured}
}

// stepHints reads, for each node, the step count its graph gives: its own
// numeric "steps" input, the value of a primitive node linked to it, or
// the "steps" of a node feeding it (SamplerCustomAdvanced takes its
// sigmas from a BasicScheduler). Nodes without a hint are absent.
func stepHints(nodes map[string]graphNode) map[string]float64 {
	var hints map[string]float64
	for id, n := range nodes {
		if s := stepsOf(nodes, n); s > 0 {
			if hints == nil {
				hints = map[string]float64{}
			}
			hints[id] = s
		}
	}
	return hints
}

func stepsOf(nodes map[string]graphNode, n graphNode) float64 {
	if s, ok := n.Inputs["steps"].(float64); ok {
		return s
	}
	if src, ok := linkSource(n.Inputs["steps"]); ok {
		if s, ok := nodes[src].Inputs["value"].(float64); ok {
			return s
		}
	}
	var best float64 // the largest, so that map order does not matter
	for _, v := range n.Inputs {
		if src, ok := linkSource(v); ok {
			if s, ok := nodes[src].Inputs["steps"].(float64); ok {
				best = max(best, s)
			}
		}
	}
	return best
}

// linkSource returns the node id an API-format link points at.
func linkSource(v any) (string, bool) {
	if !isLink(v) {
		return "", false
	}
	return v.([]any)[0].(string), true
}
