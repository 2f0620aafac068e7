package artifact_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The S3 client is a server-side dependency: the public packages, which
// other programs import, must not pull it in.
func TestPublicPackagesStayFreeOfTheSDK(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go") // go test puts its own first on PATH
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	public := []string{"comfy/...", "client/...", "api/...", "workflow/..."}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	for _, p := range public {
		args = append(args, "github.com/comfygate/comfygate/"+p)
	}
	out, err := exec.CommandContext(t.Context(), goBin, args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/") {
			t.Errorf("a public package depends on %s", dep)
		}
	}
}
