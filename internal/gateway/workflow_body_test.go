package gateway

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
)

// TestWorkflowDocumentIsTheWireRequest: the wrapped form PutWorkflow
// decodes has exactly the JSON fields of api.WorkflowRequest, so the
// OpenAPI document and the server agree on what a body may hold.
func TestWorkflowDocumentIsTheWireRequest(t *testing.T) {
	t.Parallel()
	fields := func(rt reflect.Type) []string {
		var out []string
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
		slices.Sort(out)
		return out
	}
	if got, want := fields(reflect.TypeFor[workflowDocument]()), fields(reflect.TypeFor[api.WorkflowRequest]()); !slices.Equal(got, want) {
		t.Errorf("the decoded document has fields %v, the wire request %v", got, want)
	}
}
