package job_test

import (
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func TestClientSubfolder(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("0123456789abcdef", 2)
	folder := job.OutputFolder(key)
	if folder != "comfygate/"+key {
		t.Fatalf("OutputFolder = %q", folder)
	}
	tests := []struct{ name, sub, want string }{
		{"the output folder itself", folder, ""},
		{"a folder the graph asked for", folder + "/portraits/2025", "portraits/2025"},
		{"windows separators", `comfygate\` + key + `\portraits`, "portraits"},
		{"windows, the folder itself", `comfygate\` + key, ""},
		{"no folder of ours", "portraits", "portraits"},
		{"the shared root", "", ""},
		{"staged inputs' folder", "comfygate", "comfygate"},
		{"a name that only starts the same", folder + "x/y", folder + "x/y"},
		{"a key too short", "comfygate/" + key[1:] + "/x", "comfygate/" + key[1:] + "/x"},
		{"not a key", "comfygate/" + strings.Repeat("g", job.OutputKeyLen) + "/x", "comfygate/" + strings.Repeat("g", job.OutputKeyLen) + "/x"},
		{"upper case is not ours", "comfygate/" + strings.ToUpper(key), "comfygate/" + strings.ToUpper(key)},
		{"another root", "comfyui/" + key + "/x", "comfyui/" + key + "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := job.ClientSubfolder(tt.sub); got != tt.want {
				t.Errorf("ClientSubfolder(%q) = %q, want %q", tt.sub, got, tt.want)
			}
		})
	}
}
