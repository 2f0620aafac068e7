package job_test

import (
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func TestClientSubfolder(t *testing.T) {
	t.Parallel()
	const id = "0b6f4c1e-2d0a-4b7e-9f55-3c2a1d9e8b70"
	folder := job.OutputFolder(id)
	if folder != "comfygate/"+id {
		t.Fatalf("OutputFolder = %q", folder)
	}
	tests := []struct{ name, sub, want string }{
		{"the job's folder itself", folder, ""},
		{"a folder the graph asked for", folder + "/portraits/2025", "portraits/2025"},
		{"windows separators", `comfygate\` + id + `\portraits`, "portraits"},
		{"windows, the folder itself", `comfygate\` + id, ""},
		{"no folder of ours", "portraits", "portraits"},
		{"the shared root", "", ""},
		{"another job's folder", "comfygate/1b6f4c1e-2d0a-4b7e-9f55-3c2a1d9e8b70/x", "comfygate/1b6f4c1e-2d0a-4b7e-9f55-3c2a1d9e8b70/x"},
		{"a name that only starts the same", folder + "x/y", folder + "x/y"},
		{"staged inputs' folder", "comfygate", "comfygate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := job.ClientSubfolder(id, tt.sub); got != tt.want {
				t.Errorf("ClientSubfolder(%q) = %q, want %q", tt.sub, got, tt.want)
			}
		})
	}
}
