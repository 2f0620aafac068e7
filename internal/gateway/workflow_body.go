package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/comfygate/comfygate/workflow"
)

// workflowDocument is the wrapped form of a workflow. Its JSON fields are
// those of the REST API's api.WorkflowRequest, the type the OpenAPI
// document describes (workflow_body_test.go holds the two equal); params
// is the parameter spec, which the spec's own parser reads.
type workflowDocument struct {
	Graph       json.RawMessage `json:"graph"`
	Params      json.RawMessage `json:"params"`
	Description string          `json:"description"`
}

// decodeWorkflowBody reads the body of PUT /v1/workflows/{name}: the
// wrapped form (workflowDocument) when its "graph" is an object, else a
// bare graph (API or UI format). The wrapped form is decoded strictly, so
// an unknown or mistyped field is refused by name rather than ignored.
func decodeWorkflowBody(body []byte) (workflowParts, error) {
	var probe struct {
		Graph  json.RawMessage `json:"graph"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return workflowParts{}, &InputError{Field: "body", Problem: "not valid JSON: " + err.Error()}
	}
	if len(probe.Graph) == 0 || !bytes.HasPrefix(bytes.TrimSpace(probe.Graph), []byte("{")) {
		return workflowParts{graph: body, graphField: "body"}, nil
	}
	// The spec's own parser goes first: it keeps the mapping's order and
	// names the parameter in its errors.
	if isSet(probe.Params) {
		if _, err := workflow.ParseParamSpec(probe.Params); err != nil {
			return workflowParts{}, specError(err)
		}
	}
	var req workflowDocument
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return workflowParts{}, wrappedError(err)
	}
	return workflowParts{graph: req.Graph, graphField: "graph", spec: probe.Params, description: req.Description}, nil
}

func isSet(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// specError names the parameter a spec error is about.
func specError(err error) error {
	var pe *workflow.ParamError
	if errors.As(err, &pe) {
		return &InputError{Field: "params." + pe.Param, Problem: pe.Problem}
	}
	return &InputError{Field: "params", Problem: strings.TrimPrefix(err.Error(), "param spec: ")}
}

// wrappedError turns a strict decoding failure of the wrapped form into an
// InputError naming the field.
func wrappedError(err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return &InputError{Field: typ.Field, Problem: fmt.Sprintf("must be %s, not %s", typ.Type.Kind(), typ.Value)}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return &InputError{Field: strings.Trim(name, `"`), Problem: "unknown field; a workflow body has graph, params and description"}
	}
	return &InputError{Field: "body", Problem: msg}
}
