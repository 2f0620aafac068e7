package deptest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A small graph: dom ← store; dom ← disp → wire; surf → disp; sim → proto/x.
var graph = []pkg{
	{path: "dom"},
	{path: "store/sql", imports: []string{"dom"}, deps: []string{"dom"}},
	{path: "wire"},
	{path: "disp", imports: []string{"dom", "wire"}, deps: []string{"dom", "wire"}},
	{path: "surf", imports: []string{"mid"}, deps: []string{"mid", "disp", "dom", "wire"}},
	{path: "mid", imports: []string{"disp"}, deps: []string{"disp", "dom", "wire"}},
	{path: "proto", imports: []string{"proto/x"}, deps: []string{"proto/x"}},
	{path: "proto/x"},
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rules      []rule
		exceptions []exception
		want       []string
	}{
		{
			name:  "allowed",
			rules: []rule{{from: []string{"dom"}, forbid: []string{"..."}, why: "w"}},
		},
		{
			name:  "direct",
			rules: []rule{{from: []string{"disp"}, forbid: []string{"wire"}, why: "w"}},
			want:  []string{"disp must not depend on wire (disp → wire): w"},
		},
		{
			name:  "through another package",
			rules: []rule{{from: []string{"surf"}, forbid: []string{"disp"}, why: "w"}},
			want:  []string{"surf must not depend on disp (surf → mid → disp): w"},
		},
		{
			name:  "tree pattern",
			rules: []rule{{from: []string{"store/..."}, forbid: []string{"..."}, why: "w"}},
			want:  []string{"store/sql must not depend on dom (store/sql → dom): w"},
		},
		{
			name:  "allow",
			rules: []rule{{from: []string{"proto"}, forbid: []string{"..."}, allow: []string{"proto/..."}, why: "w"}},
		},
		{
			name:       "excused",
			rules:      []rule{{from: []string{"disp"}, forbid: []string{"wire"}, why: "w"}},
			exceptions: []exception{{from: "disp", to: "wire"}},
		},
		{
			name:       "stale exception",
			rules:      []rule{{from: []string{"dom"}, forbid: []string{"..."}, why: "w"}},
			exceptions: []exception{{from: "surf", to: "disp"}},
			want:       []string{"exception surf → disp is no longer needed: delete its row"},
		},
		{
			name:  "typo",
			rules: []rule{{from: []string{"dsip"}, forbid: []string{"wire"}, why: "w"}},
			want:  []string{`rule pattern "dsip" names no package`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, check(graph, tt.rules, tt.exceptions)); diff != "" {
				t.Errorf("check (-want +got):\n%s", diff)
			}
		})
	}
}
