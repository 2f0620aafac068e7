package fleet

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/workflow"
)

// catalogCache holds the merged catalog until a backend's catalog or
// health changes.
type catalogCache struct {
	mu    sync.Mutex // guards cat
	cat   *workflow.Catalog
	valid bool
}

func (c *catalogCache) invalidate() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}

// Catalog returns the merged node catalog of the healthy backends: every
// class any of them has, with the model lists of loader inputs merged. When
// no backend is healthy it merges every backend whose catalog is known, so
// validation keeps working through a short outage. It returns nil when no
// catalog is known at all.
func (f *Fleet) Catalog() *workflow.Catalog {
	f.catalog.mu.Lock()
	defer f.catalog.mu.Unlock()
	if f.catalog.valid {
		return f.catalog.cat
	}
	var infos []comfy.ObjectInfo
	var fallback []comfy.ObjectInfo
	for _, b := range f.snapshot() {
		caps := b.caps.Load()
		if caps == nil || b.removed.Load() {
			continue
		}
		fallback = append(fallback, caps.info)
		if b.health.Load() == healthHealthy {
			infos = append(infos, caps.info)
		}
	}
	if len(infos) == 0 {
		infos = fallback
	}
	var cat *workflow.Catalog
	if len(infos) > 0 {
		var err error
		if cat, err = workflow.NewCatalog(mergeObjectInfo(infos)); err != nil {
			f.log.Error("fleet: merged catalog does not parse", "err", err)
			cat = nil
		}
	}
	f.catalog.cat, f.catalog.valid = cat, true
	return cat
}

// CheckRunnable fails fast, with an *UnrunnableError naming the missing node
// class or model file, when no backend could run g. Backends that are down
// still count: a job they could run waits for them. While no catalog is
// known yet, every graph passes.
func (f *Fleet) CheckRunnable(g workflow.Graph) error {
	nodes := make(map[string]graphNode, len(g))
	for id, n := range g {
		if n != nil {
			nodes[id] = graphNode{ClassType: n.ClassType, Inputs: n.Inputs}
		}
	}
	return checkRunnable(requirementsOf(nodes), f.snapshot())
}

// mergeObjectInfo unions several backends' catalogs. The first backend's
// definition of a class wins, except that model-file combos take the union
// of every backend's values.
func mergeObjectInfo(infos []comfy.ObjectInfo) comfy.ObjectInfo {
	var out comfy.ObjectInfo
	at := map[string]int{}
	for _, info := range infos {
		for _, n := range info {
			i, seen := at[n.Class]
			if !seen {
				at[n.Class] = len(out)
				out = append(out, comfy.NamedNodeDef{Class: n.Class, Def: cloneDef(n.Def)})
				continue
			}
			mergeModelCombos(&out[i].Def, n.Def)
		}
	}
	return out
}

// cloneDef copies the input sections, the only part merging modifies.
func cloneDef(d comfy.NodeDef) comfy.NodeDef {
	d.Input.Required = slices.Clone(d.Input.Required)
	d.Input.Optional = slices.Clone(d.Input.Optional)
	return d
}

func mergeModelCombos(dst *comfy.NodeDef, src comfy.NodeDef) {
	for _, sec := range []*comfy.InputSpecs{&dst.Input.Required, &dst.Input.Optional} {
		for i, sp := range *sec {
			if !modelInputs[sp.Name] && !isNameInput(sp.Name) {
				continue
			}
			other, _, ok := src.Input.Lookup(sp.Name)
			if !ok {
				continue
			}
			(*sec)[i].Spec = unionCombo(sp, other)
		}
	}
}

func isNameInput(name string) bool { return strings.HasSuffix(name, "_name") }

// unionCombo returns a's spec with b's values added to its options; specs
// that are not both combos are left as a has them.
func unionCombo(a, b comfy.InputSpec) json.RawMessage {
	va, okA := comboValues(a)
	vb, okB := comboValues(b)
	if !okA || !okB {
		return a.Spec
	}
	union := slices.Clone(va)
	for _, v := range vb {
		if !slices.Contains(union, v) {
			union = append(union, v)
		}
	}
	if len(union) == len(va) {
		return a.Spec
	}
	return withComboValues(a.Spec, union)
}

// withComboValues rewrites a combo spec's values, classic or newer style.
func withComboValues(spec json.RawMessage, values []string) json.RawMessage {
	var elems []json.RawMessage
	if json.Unmarshal(spec, &elems) != nil || len(elems) == 0 {
		return spec
	}
	list, _ := json.Marshal(values)
	if len(elems[0]) > 0 && elems[0][0] == '[' {
		elems[0] = list
	} else if len(elems) > 1 {
		var opts map[string]json.RawMessage
		if json.Unmarshal(elems[1], &opts) != nil {
			return spec
		}
		opts["options"] = list
		elems[1], _ = json.Marshal(opts)
	}
	out, err := json.Marshal(elems)
	if err != nil {
		return spec
	}
	return out
}
