package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// golden is a normalised transcript as stored in testdata/*.golden.json.
// Each element of HTTP and WS is one check.
type golden struct {
	Scenario string `json:"scenario"`
	Source   string `json:"source"`
	HTTP     []any  `json:"http"`
	WS       []any  `json:"ws"`
}

func decodeGolden(b []byte) (golden, error) {
	var g golden
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := dec.Decode(&g)
	return g, err
}

func loadGolden(scenario string) (golden, error) {
	b, err := testdata.ReadFile("testdata/" + scenario + ".golden.json")
	if err != nil {
		return golden{}, err
	}
	return decodeGolden(b)
}

// marshalGolden renders a normalised transcript the way golden files are
// stored (indented, members in document order).
func marshalGolden(t comfyjson.Object) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// CheckResult is the outcome of one compared step: one HTTP exchange or one
// WebSocket's whole message sequence.
type CheckResult struct {
	Scenario string
	Step     string
	Match    bool
	// Diff is cmp.Diff(want, got): "-" lines are the real ComfyUI, "+" lines
	// the target.
	Diff string
}

// Report collects check results from parallel scenarios.
type Report struct {
	mu      sync.Mutex
	results []CheckResult
	notes   map[string][]string
}

func newReport() *Report { return &Report{notes: map[string][]string{}} }

func (r *Report) add(res ...CheckResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res...)
}

// note records a scenario-level problem, such as a wait that timed out.
func (r *Report) note(scenario, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes[scenario] = append(r.notes[scenario], text)
}

// Counts returns how many checks matched, out of how many.
func (r *Report) Counts() (matched, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.results {
		if c.Match {
			matched++
		}
	}
	return matched, len(r.results)
}

// Mismatches returns the failed checks, ordered by scenario.
func (r *Report) Mismatches() []CheckResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CheckResult
	for _, c := range r.results {
		if !c.Match {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b CheckResult) int { return strings.Compare(a.Scenario, b.Scenario) })
	return out
}

// Summary is the line to quote: "fidelity: N/M checks match (S/T scenarios)".
func (r *Report) Summary() string {
	matched, total := r.Counts()
	r.mu.Lock()
	defer r.mu.Unlock()
	bad := map[string]bool{}
	all := map[string]bool{}
	for _, c := range r.results {
		all[c.Scenario] = true
		if !c.Match {
			bad[c.Scenario] = true
		}
	}
	return fmt.Sprintf("fidelity: %d/%d checks match (%d/%d scenarios fully match)", matched, total, len(all)-len(bad), len(all))
}

// WriteMarkdown writes every mismatch with its diff to path.
func (r *Report) WriteMarkdown(path, title string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\nIn diffs, `-` is the real ComfyUI 0.3.64 (golden), `+` is the target.\n", title, r.Summary())
	r.mu.Lock()
	scen := make([]string, 0, len(r.notes))
	for s := range r.notes {
		scen = append(scen, s)
	}
	slices.Sort(scen)
	for _, s := range scen {
		for _, n := range r.notes[s] {
			fmt.Fprintf(&b, "\n- **%s**: %s\n", s, n)
		}
	}
	r.mu.Unlock()
	for _, c := range r.Mismatches() {
		fmt.Fprintf(&b, "\n## %s — %s\n\n```diff\n%s```\n", c.Scenario, c.Step, c.Diff)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// compare checks an actual normalised transcript against the golden one.
func compare(want golden, got comfyjson.Object) ([]CheckResult, error) {
	b, err := json.Marshal(got)
	if err != nil {
		return nil, err
	}
	g, err := decodeGolden(b)
	if err != nil {
		return nil, err
	}
	var out []CheckResult
	for i := range max(len(want.HTTP), len(g.HTTP)) {
		out = append(out, check(want.Scenario, httpStepName(i, want.HTTP, g.HTTP), at(want.HTTP, i), at(g.HTTP, i)))
	}
	for i := range max(len(want.WS), len(g.WS)) {
		out = append(out, check(want.Scenario, wsStepName(i, want.WS, g.WS), at(want.WS, i), at(g.WS, i)))
	}
	return out, nil
}

// missing stands for a step the target's run never reached.
const missing = "<not reached>"

func at(list []any, i int) any {
	if i < len(list) {
		return list[i]
	}
	return missing
}

func check(scenario, step string, want, got any) CheckResult {
	d := cmp.Diff(want, got)
	return CheckResult{Scenario: scenario, Step: step, Match: d == "", Diff: d}
}

func httpStepName(i int, want, got []any) string {
	src := want
	if i >= len(want) {
		src = got
	}
	m, _ := src[i].(map[string]any)
	req, _ := m["request"].(map[string]any)
	name := fmt.Sprintf("http[%d] %v %v", i, req["method"], req["path"])
	if l, _ := m["label"].(string); l != "" {
		name += " (" + l + ")"
	}
	return name
}

func wsStepName(i int, want, got []any) string {
	src := want
	if i >= len(want) {
		src = got
	}
	m, _ := src[i].(map[string]any)
	return fmt.Sprintf("ws[%d] %v", i, m["name"])
}
