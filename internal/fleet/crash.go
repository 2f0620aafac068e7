package fleet

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/internal/job"
)

// Crash containment. Some prompts kill the ComfyUI that runs them (a
// segfault in a custom node, a CUDA fault, a graph that trips a bug);
// retrying such a prompt on every backend is how one user takes a whole
// fleet down. So a backend's death is charged to the job it was running,
// the charge is recorded on that attempt (outcome backend_crashed, in the
// job's durable attempt log, so a gateway restart does not forget it), and
// a job charged more than MaxCrashRetries+1 times fails as a suspected
// crasher, naming the backends it took down. Other jobs that were merely
// waiting in the dead backend's queue are retried as before, uncharged.
//
// A death is the backend lost while the prompt ran (its socket dropped, or
// it was declared down), followed by the backend staying unreachable
// (vGiveUp) or coming back without the prompt (vLost). A backend that
// comes back with the prompt still there was not dead: the charge is
// cleared (locate). The charge is decided when the loss is first seen,
// before any run reacts to it, because the runs then end one by one.

// Outcomes and error type of crash containment.
const (
	outcomeBackendCrashed = "backend_crashed"
	// ErrorSuspectedCrash is the job.Error type of a job failed because
	// its backends kept dying while they ran it.
	ErrorSuspectedCrash = "suspected_crash"
)

// chargeDeath picks the run a death of b is charged to: the run ComfyUI
// was executing. When our socket saw it start, that is certain. When it
// did not (a crash can swallow the last frames, execution_start
// included), the prompt ComfyUI took first is the one it was running: of
// ours, the one with the lowest queue number (ComfyUI runs its queue in
// that order; we never post to the front). Runs still being posted, whose
// number is unknown, or already collected are not charged.
func (b *Backend) chargeDeath() {
	runs := b.allRuns()
	var charged []*run
	for _, r := range runs {
		if r.sharedPhase() == phaseRunning {
			charged = append(charged, r)
		}
	}
	if len(charged) == 0 {
		var first *run
		for _, r := range runs {
			n := r.number.Load()
			if r.sharedPhase() == phaseQueued && n > 0 && (first == nil || n < first.number.Load()) {
				first = r
			}
		}
		if first != nil {
			charged = append(charged, first)
		}
	}
	for _, r := range runs {
		r.suspect.Store(slices.Contains(charged, r))
	}
}

// setNumber records the prompt's queue number when ComfyUI gave an
// integer one (a client-supplied number may be a float; ours never are).
func (r *run) setNumber(n json.Number) {
	if v, err := n.Int64(); err == nil && r.number.Load() == 0 {
		r.number.Store(v + 1) // +1: ComfyUI counts from 0, and 0 means unknown here
	}
}

// crashRetries is the configured number of retries after a death.
func (f *Fleet) crashRetries() int { return max(f.cfg.MaxCrashRetries, 0) }

// crashedOn lists the backends of the attempts charged with a death, in
// order, each once.
func crashedOn(log []job.Attempt) (backends []string, deaths int) {
	for _, a := range log {
		if a.Outcome != outcomeBackendCrashed {
			continue
		}
		deaths++
		if !slices.Contains(backends, a.Backend) {
			backends = append(backends, a.Backend)
		}
	}
	return backends, deaths
}

// crashBudgetSpent reports whether one more death (the attempt still open)
// is more than j may survive.
func (f *Fleet) crashBudgetSpent(j *job.Job) bool {
	_, deaths := crashedOn(j.AttemptLog)
	return deaths+1 > f.crashRetries()
}

// suspectedCrash is the error of a job failed for killing its backends;
// call it once the last attempt is closed as backend_crashed.
func (r *run) suspectedCrash(j *job.Job) *job.Error {
	backends, deaths := crashedOn(j.AttemptLog)
	e := &job.Error{
		Type: ErrorSuspectedCrash,
		Message: fmt.Sprintf("suspected of crashing its backends: %s died while running it (%d %s; a job is retried at most %d %s after a backend dies)",
			joinNames(backends), deaths, plural(deaths, "death", "deaths"), r.f.crashRetries(), plural(r.f.crashRetries(), "time", "times")),
	}
	if node := r.prog.node; node != "" {
		e.NodeID, e.NodeType = node, r.classOf[node]
		e.Message += fmt.Sprintf("; last seen running node %s", node)
		if e.NodeType != "" {
			e.Message += " (" + e.NodeType + ")"
		}
	}
	return e
}

// joinNames writes "a", "a and b", "a, b and c".
func joinNames(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
