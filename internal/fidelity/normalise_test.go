package fidelity

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

func testNormaliser(base int64) *normaliser {
	return &normaliser{base: base, prompts: map[string]string{}, blobs: map[string]string{}, counters: map[string]int64{}}
}

func TestNormaliseValue(t *testing.T) {
	tests := []struct {
		name string
		base int64
		in   string
		want string
	}{
		{"counter-relative numbers", 10,
			`{"number":12,"prompt":[10,"x",{},{},[]],"old":[3,"y",{},{},[]],"front":{"number":-14},"client":{"number":7.5}}`,
			`{"number":"<N+2>","prompt":["<N+0>","x",{},{},[]],"old":["<N-earlier>","y",{},{},[]],"front":{"number":"-<N+4>"},"client":{"number":7.5}}`},
		{"not a queue tuple", 0, `[1,"x",{},{}]`, `[1,"x",{},{}]`},
		{"prompt ids by first appearance", 0,
			`{"b1d0c7a6-44c1-4606-a05b-5c155dc064df":{"id":"0a0cb779-a4ee-46c4-9c50-232a936d599b"},"p":"/history/b1d0c7a6-44c1-4606-a05b-5c155dc064df","chosen":"fixture-0000-prompt-id-15"}`,
			`{"<P1>":{"id":"<P2>"},"p":"/history/<P1>","chosen":"fixture-0000-prompt-id-15"}`},
		{"file counters relative per prefix", 0,
			`["basic_00002_.png","ComfyUI_temp_abcde_00005_.png","basic_00003_.png","x?filename=ComfyUI_temp_qwert_00004_.png&type=temp"]`,
			`["basic_<c+0>_.png","ComfyUI_temp_<tmp>_<c+0>_.png","basic_<c+1>_.png","x?filename=ComfyUI_temp_<tmp>_<c-1>_.png&type=temp"]`},
		{"run-dependent values", 0,
			`{"timestamp":1795286901951,"ram_free":123,"sid":"f7e5719734414c8b900013085b04e5ff","traceback":["a"],"argv":["main.py"],"python_version":"3.11"}`,
			`{"timestamp":"<ts>","ram_free":"<int>","sid":"<hex32>","traceback":"<traceback>","argv":"<argv>","python_version":"<text>"}`},
		{"empty traceback kept", 0, `{"traceback":[]}`, `{"traceback":[]}`},
		{"paths in exception messages", 0,
			`{"exception_message":"cannot identify image file '<RUN_DIR>/input/a.png'\n"}`,
			`{"exception_message":"cannot identify image file '<dir>/input/a.png'\n"}`},
		{"float literals kept", 0, `{"value":1.0,"max":1}`, `{"value":1.0,"max":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := comfyjson.Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := comfyjson.Marshal(testNormaliser(tt.base).value(v, ""))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormaliseResponse(t *testing.T) {
	body := `{"queue_running":[],"queue_pending":[[39,"a",{},{},[]],[-40,"b",{},{},[]],[7.5,"c",{},{},[]]]}`
	ex := RawExchange{Method: "GET", Path: "/api/queue", Response: RawResponse{
		Status: 200,
		Headers: [][2]string{
			{"Content-Type", "application/json; charset=utf-8"}, {"Content-Length", "99"},
			{"Date", "x"}, {"Server", "y"}, {"Etag", "z"},
		},
		Body: &body,
	}}
	got, err := comfyjson.Marshal(testNormaliser(39).response(ex))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":200,"headers":{"Content-Type":"application/json; charset=utf-8"},` +
		`"json":{"queue_running":[],"queue_pending":[["-<N+1>","b",{},{},[]],[7.5,"c",{},{},[]],["<N+0>","a",{},{},[]]]}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	empty := RawExchange{Method: "POST", Path: "/interrupt", Response: RawResponse{
		Status: 200, Headers: [][2]string{{"Content-Length", "0"}, {"Content-Type", "application/octet-stream"}},
	}}
	got, _ = comfyjson.Marshal(testNormaliser(0).response(empty))
	if want := `{"status":200,"headers":{"Content-Length":"0","Content-Type":"application/octet-stream"}}`; string(got) != want {
		t.Errorf("empty body: got %s, want %s", got, want)
	}
}

func TestKindOf(t *testing.T) {
	tests := map[string]string{
		"89504e470d0a1a0a": "png", "ffd8ffe000104a46": "jpeg", "524946465e000000": "riff(webp)", "7468697320697320": "hex:7468697320697320",
	}
	for in, want := range tests {
		if got := kindOf(in); got != want {
			t.Errorf("kindOf(%s) = %s, want %s", in, got, want)
		}
	}
}
