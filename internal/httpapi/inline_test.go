package httpapi

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
)

func TestInlineOutputs(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a": "aaaa", "b": "bbbbbb"}
	open := func(_ context.Context, id string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(files[id])), nil
	}
	job := func(state api.JobState) api.Job {
		return api.Job{State: state, Outputs: []api.Output{{ArtifactID: "a", Size: 4}, {Text: "t"}, {ArtifactID: "b", Size: 6}}}
	}
	tests := []struct {
		name      string
		j         api.Job
		limit     int64
		wantData  []string
		wantError string
	}{
		{"fits", job(api.StateSucceeded), 10, []string{"aaaa", "", "bbbbbb"}, ""},
		{"over the limit", job(api.StateSucceeded), 9, []string{"", "", ""}, "10 bytes together, over the inline limit of 9 bytes"},
		{"not succeeded", job(api.StateFailed), 10, []string{"", "", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.j
			if err := InlineOutputs(context.Background(), &j, open, tt.limit); err != nil {
				t.Fatal(err)
			}
			for i, o := range j.Outputs {
				if string(o.Data) != tt.wantData[i] {
					t.Errorf("output %d data %q, want %q", i, o.Data, tt.wantData[i])
				}
			}
			if !strings.Contains(j.InlineError, tt.wantError) || (tt.wantError == "") != (j.InlineError == "") {
				t.Errorf("inline_error %q, want %q", j.InlineError, tt.wantError)
			}
		})
	}
	lying := api.Job{State: api.StateSucceeded, Outputs: []api.Output{{ArtifactID: "b", Size: 2}}}
	if err := InlineOutputs(context.Background(), &lying, open, 3); err == nil {
		t.Error("an artifact larger than its recorded size and the limit was read whole")
	}
}
