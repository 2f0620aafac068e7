package workflow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/workflow"
)

func TestGraphRoundTripKeepsOrderAndNumbers(t *testing.T) {
	in := `{"9":{"inputs":{"seed":18446744073709551615,"cfg":8.50,"x":{"__value__":[1,2]},"l":["3",0]},"class_type":"KSampler","_meta":{"title":"S"},"is_changed":["a"]},` +
		`"10":{"class_type":"SaveImage","inputs":{}},"2":{"class_type":"EmptyImage"}}`
	g, err := workflow.ParseGraph([]byte(in), workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
	if got := g.IDs(); len(got) != 3 || got[0] != "9" || got[1] != "10" || got[2] != "2" {
		t.Errorf("IDs = %v", got)
	}
	if id, slot, ok := workflow.AsLink(g["9"].Inputs["l"]); !ok || id != "3" || slot != 0 {
		t.Errorf("AsLink = %q %d %v", id, slot, ok)
	}
}

func TestGraphBuiltInCodeMarshalsInNaturalOrder(t *testing.T) {
	g := workflow.Graph{
		"10": workflow.NewNode("SaveImage", map[string]any{"images": workflow.Link("2", 0)}),
		"2":  workflow.NewNode("EmptyImage", map[string]any{"width": json.Number("64")}),
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"2":{"class_type":"EmptyImage","inputs":{"width":64}},"10":{"class_type":"SaveImage","inputs":{"images":["2",0]}}}`
	if string(out) != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
}

func TestParseGraphErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"not object", `[1]`, "graph: must be a JSON object of nodes, got array"},
		{"node not object", `{"1": "x"}`, `node "1": must be an object, got string`},
		{"no class", `{"1": {"inputs": {}}}`, `node "1": class_type: missing`},
		{"class not string", `{"1": {"class_type": 5}}`, `node "1": class_type: must be a string, got number`},
		{"inputs not object", `{"1": {"class_type": "A", "inputs": []}}`, `node "1": inputs: must be an object, got array`},
		{"bad json", `{"1": `, "graph: unexpected end of JSON input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.ParseGraph([]byte(tc.in), workflow.Limits{})
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestParseGraphLimits(t *testing.T) {
	_, err := workflow.ParseGraph([]byte(`{"1":{"class_type":"A"},"2":{"class_type":"B"}}`), workflow.Limits{MaxNodes: 1})
	var le *workflow.LimitError
	if !errors.As(err, &le) || le.What != "nodes" {
		t.Errorf("err = %v", err)
	}
	_, err = workflow.ParseGraph([]byte(`{"1":{"class_type":"AAAA"}}`), workflow.Limits{MaxStringLen: 3})
	if !errors.As(err, &le) || le.What != "string length" {
		t.Errorf("err = %v", err)
	}
	deep := ""
	for range 300 {
		deep += "["
	}
	_, err = workflow.ParseGraph([]byte(`{"1":{"class_type":"A","inputs":{"x":`+deep), workflow.Limits{})
	if !errors.As(err, &le) || le.What != "nesting depth" {
		t.Errorf("err = %v", err)
	}
	many := `{"1":{"class_type":"A","inputs":{"x":[` + strings.Repeat("0,", 1<<19) + `0]}}}`
	_, err = workflow.ParseGraph([]byte(many), workflow.Limits{})
	if !errors.As(err, &le) || le.What != "number of values" {
		t.Errorf("half a million zeros: err = %v, want the default bound on values", err)
	}
}

func FuzzParseGraph(f *testing.F) {
	f.Add([]byte(`{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551615,"model":["4",0]}}}`))
	f.Add([]byte(`{"1":{"class_type":"A","inputs":{"v":{"__value__":[1.5e300,"x"]}},"_meta":{"title":"t"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := workflow.ParseGraph(data, workflow.Limits{})
		if err != nil {
			return
		}
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		g2, err := workflow.ParseGraph(out, workflow.Limits{})
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		out2, _ := json.Marshal(g2)
		if string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
