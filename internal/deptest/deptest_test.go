package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/comfygate/comfygate"

// rule forbids the packages matching from to depend on those matching
// forbid, except those matching allow.
type rule struct {
	from, forbid, allow []string
	why                 string
}

// exception excuses one forbidden dependency that still exists.
type exception struct{ from, to string }

// pkg is one package of the module as `go list` describes it, with import
// paths relative to the module.
type pkg struct {
	path    string
	imports []string // direct, ours only
	deps    []string // transitive, ours only
}

func TestHouseRules(t *testing.T) {
	t.Parallel()
	pkgs := goList(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of %s: not the module", len(pkgs), module)
	}
	for _, msg := range check(pkgs, rules, exceptions) {
		t.Error(msg)
	}
}

// goList lists the module's packages and their dependencies on each other.
func goList(tb testing.TB) []pkg {
	tb.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			tb.Fatalf("go list output: %v", err)
		}
		if path, ok := rel(p.ImportPath); ok {
			pkgs = append(pkgs, pkg{path: path, imports: ours(p.Imports), deps: ours(p.Deps)})
		}
	}
}

// rel returns path relative to the module, and whether it is ours.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

func ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if r, ok := rel(p); ok {
			out = append(out, r)
		}
	}
	return out
}

// match reports whether path is pattern, or lies below a "x/..." pattern.
func match(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == tree || strings.HasPrefix(path, tree+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// check returns one message for each forbidden dependency not excused, each
// exception no longer needed, and each pattern that names no package (a
// rule with a typo would never fail).
func check(pkgs []pkg, rules []rule, exceptions []exception) []string {
	msgs := unmatched(pkgs, rules, exceptions)
	used := map[exception]bool{}
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[p.path] = p
	}
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchAny(r.from, p.path) {
				continue
			}
			for _, d := range p.deps {
				if !matchAny(r.forbid, d) || matchAny(r.allow, d) {
					continue
				}
				if e := (exception{p.path, d}); slices.Contains(exceptions, e) {
					used[e] = true
					continue
				}
				msgs = append(msgs, fmt.Sprintf("%s must not depend on %s (%s): %s",
					p.path, d, strings.Join(chain(byPath, p.path, d), " → "), r.why))
			}
		}
	}
	for _, e := range exceptions {
		if !used[e] {
			msgs = append(msgs, fmt.Sprintf("exception %s → %s is no longer needed: delete its row", e.from, e.to))
		}
	}
	return msgs
}

// unmatched reports the patterns and exceptions that name no package.
func unmatched(pkgs []pkg, rules []rule, exceptions []exception) []string {
	var msgs []string
	exists := func(pattern string) bool {
		return slices.ContainsFunc(pkgs, func(p pkg) bool { return match(pattern, p.path) })
	}
	for _, r := range rules {
		for _, pat := range slices.Concat(r.from, r.forbid, r.allow) {
			if !exists(pat) {
				msgs = append(msgs, fmt.Sprintf("rule pattern %q names no package", pat))
			}
		}
	}
	for _, e := range exceptions {
		if !exists(e.from) || !exists(e.to) {
			msgs = append(msgs, fmt.Sprintf("exception %s → %s names no package", e.from, e.to))
		}
	}
	return msgs
}

// chain is the shortest path of direct imports from one package to another.
func chain(byPath map[string]pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		for _, next := range byPath[cur].imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return []string{from, "…", to}
}
