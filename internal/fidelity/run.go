package fidelity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scenario is one capture file replayed: fn performs the capture tool's
// interaction, calling s.record() where the compared part begins.
type scenario struct {
	name string // the capture file name without .jsonl
	fn   func(s *session)
}

// scenarios are in the capture's file order; each runs on its own target.
var scenarios = []scenario{
	{"01-ws-connect", scenario01},
	{"02-submit-run", scenario02},
	{"03-submit-cached", scenario03},
	{"04-queue-busy", scenario04},
	{"05-history", scenario05},
	{"06-view", scenario06},
	{"07-upload-loadimage", scenario07},
	{"08-queue-delete", scenario08},
	{"09-interrupt", scenario09},
	{"10-invalid-prompts", scenario10},
	{"11-system-stats", scenario11},
	{"12-object-info", scenario12},
	{"13-view-traversal", scenario13},
	{"14-execution-error", scenario14},
	{"15-origin-and-prefix", scenario15},
	{"16-no-client-id", scenario16},
	{"17-preview-image", scenario17},
	{"18-misc-endpoints", scenario18},
}

// Run replays every scenario against a fresh target from newTarget, one
// subtest per scenario (in parallel), and fails each subtest whose target
// answered differently from the real ComfyUI, printing a diff per check. It
// returns the report, whose Summary line says how many checks matched.
func Run(t *testing.T, newTarget NewTarget, opts Options) *Report {
	opts = opts.withDefaults()
	wf, err := loadWorkflows()
	if err != nil {
		t.Fatalf("load workflows: %v", err)
	}
	rep := newReport()
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			if !selected(sc.name, opts.Only) {
				continue
			}
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				runScenario(t, sc, newTarget, wf, opts, rep)
			})
		}
	})
	t.Log(rep.Summary())
	return rep
}

func selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, p := range only {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// maxAttempts bounds the retries of a timing scenario whose window was
// missed; each retry doubles the slow-node delay.
const maxAttempts = 4

// runScenario reports through t.Errorf only (never Fatalf), so that the
// harness's own tests can run it under a recording testing.TB.
func runScenario(t testing.TB, sc scenario, newTarget NewTarget, wf *workflowSet, opts Options, rep *Report) {
	want, err := loadGolden(sc.name)
	if err != nil {
		t.Errorf("golden: %v", err)
		return
	}
	var raw Raw
	var aborted error
	for attempt := 1; ; attempt++ {
		raw, aborted = runAttempt(sc, newTarget(t), wf, opts, want)
		if !errors.Is(aborted, errWindowMissed) || attempt == maxAttempts {
			break
		}
		// Not the target's fault as far as anyone can tell: the machine was
		// too slow for the requests to fit in the slow node. Start over on a
		// fresh target with more room.
		t.Logf("attempt %d: %v; retrying with ImageBlur delay %s", attempt, aborted, 2*opts.SlowDelay)
		opts.SlowDelay *= 2
	}
	if aborted != nil {
		rep.note(sc.name, "stopped early: "+aborted.Error())
		t.Errorf("scenario stopped early: %v", aborted)
	}
	if opts.RawDir != "" {
		if err := saveRaw(opts.RawDir, raw); err != nil {
			t.Errorf("save raw transcript: %v", err)
		}
	}
	results, err := compare(want, normalise(raw, wf))
	if err != nil {
		t.Errorf("compare: %v", err)
		return
	}
	rep.add(results...)
	for _, r := range results {
		if !r.Match {
			t.Errorf("%s differs from real ComfyUI (-real +target):\n%s", r.Step, r.Diff)
		}
	}
}

// runAttempt plays a scenario once and returns what it recorded and why it
// stopped early, if it did.
func runAttempt(sc scenario, target Target, wf *workflowSet, opts Options, want golden) (Raw, error) {
	u, err := url.Parse(target.BaseURL)
	if err != nil {
		return Raw{Scenario: sc.name}, fmt.Errorf("target base URL: %w", err)
	}
	// The whole scenario, waits included, must end; a hung target fails it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	transport := &http.Transport{DisableCompression: true}
	defer transport.CloseIdleConnections()
	s := &session{
		ctx: ctx, opts: opts, target: target, host: u.Host, workflows: wf, want: want,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		raw:     Raw{Scenario: sc.name, Host: u.Host},
		counted: target.CounterStart,
	}
	aborted := s.protect(sc.fn)
	s.discard = errors.Is(aborted, errWindowMissed)
	if err := s.protect(func(s *session) { s.closeAll() }); aborted == nil {
		aborted = err
	}
	return s.raw, aborted
}

func saveRaw(dir string, r Raw) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Scenario+".raw.json"), b, 0o644)
}

// protect runs fn, turning an abort into an error. Other panics propagate.
func (s *session) protect(fn func(*session)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	fn(s)
	return nil
}
