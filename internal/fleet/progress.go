package fleet

import "time"

// maxRunningFraction caps the fraction while the run goes on: the bar
// reaches 1 only when the job has succeeded (finish writes 1), never while
// the last node still works.
const maxRunningFraction = 0.99

// progressState tracks how far a run is, for progress events. The
// fraction it reports is the estimated share of the run's time done (see
// costModel): finished nodes' costs plus the running node's step share of
// its own, over the total. It never decreases within an attempt, even when
// an estimate is corrected on the way (a sampler that runs fewer steps
// than its graph said).
type progressState struct {
	known      map[string]string // the graph's nodes → class; expanded ids are not counted
	total      int               // len(known)
	done       map[string]bool
	cost       map[string]nodeCost // estimates for known nodes; cached ones cost 0
	costTotal  float64
	costDone   float64
	frac       float64 // the fraction last reported
	node       string
	nodeStart  time.Time
	value, max float64

	lastPersist time.Time
	lastPreview time.Time
}

// init sets up the state for a graph (node → class) whose step hints are
// steps, with costs estimated by m.
func (p *progressState) init(classOf map[string]string, steps map[string]float64, m *costModel) {
	*p = progressState{known: classOf, total: len(classOf), cost: make(map[string]nodeCost, len(classOf)),
		lastPersist: p.lastPersist, lastPreview: p.lastPreview}
	for id, class := range classOf {
		c := m.estimate(class, steps[id])
		p.cost[id] = c
		p.costTotal += c.secs
	}
}

// markDone counts a known node as finished, its cost as done.
func (p *progressState) markDone(node string) {
	if _, ok := p.known[node]; !ok || p.done[node] {
		return
	}
	if p.done == nil {
		p.done = map[string]bool{}
	}
	p.done[node] = true
	p.costDone += p.cost[node].secs
}

// markCached counts a node ComfyUI served from its cache: finished, at no
// cost, so the nodes that do run share the whole bar.
func (p *progressState) markCached(node string) {
	if _, ok := p.known[node]; !ok || p.done[node] {
		return
	}
	p.costTotal -= p.cost[node].secs
	p.cost[node] = nodeCost{}
	p.markDone(node)
}

// start records that node began at now; the node before it, if any, ended
// then, and its duration is learned by m.
func (p *progressState) start(node string, now time.Time, m *costModel) {
	p.end(now, m)
	p.node, p.nodeStart, p.value, p.max = node, now, 0, 0
}

// end closes the running node at now: it is done, and m learns how long
// its class took (per step, when it reported steps). ComfyUI may have said
// the node finished already (progress_state); it ran until now all the same.
func (p *progressState) end(now time.Time, m *costModel) {
	if p.node == "" {
		return
	}
	if class, ok := p.known[p.node]; ok && !p.nodeStart.IsZero() {
		m.observe(class, now.Sub(p.nodeStart), p.max)
	}
	p.markDone(p.node)
	p.node = ""
}

// step records a progress message of the running node at now. A stepped
// node's cost follows the step count it reports, which beats the graph's
// hint, and, once its class was measured, its own pace in this run, which
// beats the average (a larger image, a slower backend).
func (p *progressState) step(value, maxValue float64, now time.Time) {
	p.value, p.max = value, maxValue
	c, ok := p.cost[p.node]
	if !ok || !c.stepped || maxValue <= 0 || p.done[p.node] {
		return
	}
	secs := maxValue * c.unitSecs
	if elapsed := now.Sub(p.nodeStart).Seconds(); c.measured && value >= 1 && elapsed > 0 {
		secs = elapsed / value * maxValue
	}
	p.costTotal += secs - c.secs
	c.secs = secs
	p.cost[p.node] = c
}

// fraction is the share of the estimated time done, 0..maxRunningFraction,
// never below what it reported before.
func (p *progressState) fraction() float64 {
	if p.costTotal <= 0 {
		return p.frac
	}
	done := p.costDone
	if p.node != "" && !p.done[p.node] && p.max > 0 {
		done += p.cost[p.node].secs * min(p.value/p.max, 1)
	}
	p.frac = max(p.frac, min(done/p.costTotal, maxRunningFraction))
	return p.frac
}
