package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/peterbourgon/ff/v4"
)

func TestInterspersed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantArgs []string
		wantP    []string
		wantJSON bool
		wantOut  string
	}{
		{"flags first", []string{"-p", "a=1", "--json", "wf"}, []string{"wf"}, []string{"a=1"}, true, "."},
		{"flags after", []string{"wf", "-p", "a=1", "--out", "dir", "--json"}, []string{"wf"}, []string{"a=1"}, true, "dir"},
		{"value that looks positional", []string{"wf", "--out", "x", "y"}, []string{"wf", "y"}, nil, false, "x"},
		{"attached values", []string{"wf", "-pa=1", "--out=d"}, []string{"wf"}, []string{"a=1"}, false, "d"},
		{"a value starting with a dash", []string{"wf", "-p", "-x=1"}, []string{"wf"}, []string{"-x=1"}, false, "."},
		{"stdin dash", []string{"-", "--json"}, []string{"-"}, nil, true, "."},
		{"double dash ends flags", []string{"wf", "--", "--json"}, []string{"wf", "--json"}, nil, false, "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := ff.NewFlagSet("t")
			cf := addClientFlags(fs)
			var params []string
			out := "."
			fs.StringListVar(&params, 'p', "param", "")
			fs.StringVar(&out, 0, "out", ".", "")
			f := interspersed{fs}
			if err := f.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got := struct {
				Args, P []string
				JSON    bool
				Out     string
			}{f.GetArgs(), params, cf.json, out}
			want := struct {
				Args, P []string
				JSON    bool
				Out     string
			}{tc.wantArgs, tc.wantP, tc.wantJSON, tc.wantOut}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("ok\x1b[2Jgone\ttab\u009b"); got != "ok?[2Jgone?tab?" {
		t.Errorf("printable = %q", got)
	}
}
