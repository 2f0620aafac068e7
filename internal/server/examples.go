package server

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/comfygate/comfygate/examples"
)

// Example is one example workflow: Body is a PUT /v1/workflows/{Name}
// body, a bare API-format graph whose parameters the gateway detects.
type Example struct {
	Name string
	Body []byte
}

// Examples returns the example workflows in name order.
func Examples() ([]Example, error) {
	entries, err := fs.ReadDir(examples.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	out := make([]Example, 0, len(entries))
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		body, err := fs.ReadFile(examples.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("examples: %w", err)
		}
		out = append(out, Example{Name: name, Body: body})
	}
	return out, nil
}
