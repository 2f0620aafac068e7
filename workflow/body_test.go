package workflow_test

import (
	"errors"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/workflow"
)

func TestDecodePromptBodyFields(t *testing.T) {
	cases := []struct {
		name, body string
		promptID   string
		number     *float64
		front      bool
		extra      string
	}{
		{"int prompt_id", `{"prompt":{},"prompt_id":123}`, "123", nil, false, `{}`},
		{"null prompt_id", `{"prompt":{},"prompt_id":null}`, "None", nil, false, `{}`},
		{"dict prompt_id", `{"prompt":{},"prompt_id":{"b":1,"a":[1,"x",1.0,true]}}`, "{'b': 1, 'a': [1, 'x', 1.0, True]}", nil, false, `{}`},
		{"string number", `{"prompt":{},"number":"7.5","front":true}`, "", ptr(7.5), false, `{}`},
		{"front truthy", `{"prompt":{},"front":"no","client_id":"c"}`, "", nil, true, `{"client_id":"c"}`},
		{"client replaces", `{"prompt":{},"extra_data":{"client_id":"old","x":1},"client_id":"new"}`, "", nil, false, `{"client_id":"new","x":1}`},
		{"client appended", `{"prompt":{},"extra_data":{"x":1},"client_id":"new"}`, "", nil, false, `{"x":1,"client_id":"new"}`},
		{"extra list without client", `{"prompt":{},"extra_data":[1]}`, "", nil, false, `[1]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := workflow.DecodePromptBody([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if b.PromptID != tc.promptID {
				t.Errorf("PromptID = %q, want %q", b.PromptID, tc.promptID)
			}
			if (b.Number == nil) != (tc.number == nil) || (b.Number != nil && *b.Number != *tc.number) {
				t.Errorf("Number = %v, want %v", b.Number, tc.number)
			}
			if b.Front != tc.front {
				t.Errorf("Front = %v", b.Front)
			}
			if got := string(b.ExtraDataWithClientID()); got != tc.extra {
				t.Errorf("extra = %s, want %s", got, tc.extra)
			}
		})
	}
}

func ptr(f float64) *float64 { return &f }

func TestDecodePromptBodyRejections(t *testing.T) {
	cases := []struct {
		name, body string
		want       string // "500", or the error type of a 400
	}{
		{"malformed", `{"prompt":`, "500"},
		{"empty", ``, "500"},
		{"invalid utf8", "{\"prompt\":{},\"x\":\"\xff\"}", "500"},
		{"trailing", `{"prompt":{}} x`, "500"},
		{"nan literal", `{"prompt":{},"number":NaN}`, "500"},
		{"bad number", `{"prompt":{},"number":"abc"}`, "500"},
		{"number null without prompt", `{"number":null}`, "500"},
		{"prompt null", `{"prompt":null}`, "500"},
		{"prompt string", `{"prompt":"x"}`, "500"},
		{"prompt list", `[{"prompt":{}}]`, "no_prompt"},
		{"body string", `"hello"`, "no_prompt"},
		{"body string with prompt", `"a prompt"`, "500"},
		{"body number", `5`, "500"},
		{"no prompt key", `{"client_id":"x"}`, "no_prompt"},
		{"extra list with client", `{"prompt":{},"extra_data":[1],"client_id":"c"}`, "500"},
		{"list prompt index", `{"prompt":[1,"a"]}`, "invalid_prompt"},
		{"list prompt", `{"prompt":[{"class_type":"A"}]}`, "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.DecodePromptBody([]byte(tc.body))
			var mal *workflow.MalformedError
			var pe *comfy.PromptError
			switch {
			case errors.As(err, &mal):
				if tc.want != "500" {
					t.Errorf("got 500 (%v), want %s", err, tc.want)
				}
			case errors.As(err, &pe):
				if pe.Info.Type != tc.want || pe.Status != 400 {
					t.Errorf("got %d %s, want %s", pe.Status, pe.Info.Type, tc.want)
				}
			default:
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func FuzzDecodePromptBody(f *testing.F) {
	for _, s := range []string{
		`{"prompt":{"1":{"class_type":"EmptyImage","inputs":{"width":64,"height":"48","batch_size":1,"color":0}},"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}},"client_id":"c"}`,
		`{"prompt":{"1":"class_type"},"number":"1e3","partial_execution_targets":"12"}`,
		`{"prompt":{"1":{"class_type":"LoadImage","inputs":{"image":["1",0]}},"2":{"class_type":"SaveImage","inputs":{"images":["1",true],"filename_prefix":{"__value__":[1]}}}}}`,
		`{"prompt":[0],"prompt_id":{"a":[null]}}`, `"prompt"`, `[]`,
	} {
		f.Add([]byte(s))
	}
	cat := captureCatalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := workflow.DecodePromptBody(data)
		if err != nil {
			return
		}
		res := cat.Validate(b.Prompt, b.ValidateOptions(func(string) bool { return true }))
		if res.Status() == 200 && len(res.Outputs) == 0 {
			t.Fatal("queued without outputs")
		}
		if res.Status() != 500 {
			if _, err := res.Graph.MarshalJSON(); err != nil {
				t.Fatalf("marshal validated graph: %v", err)
			}
		}
		_ = b.ExtraDataWithClientID()
	})
}
