package server

import (
	"embed"
	"fmt"
	"path"
	"strings"
)

// examples are the workflows the demo stores at start, as PUT
// /v1/workflows/{name} bodies ({"description", "graph", "params"}), named
// after their files. The README's tour uses them.
//
//go:embed examples/*.json
var examples embed.FS

// Example is one example workflow.
type Example struct {
	Name string
	Body []byte
}

// Examples returns the example workflows in name order.
func Examples() ([]Example, error) {
	entries, err := examples.ReadDir("examples")
	if err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	out := make([]Example, 0, len(entries))
	for _, e := range entries {
		body, err := examples.ReadFile(path.Join("examples", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("examples: %w", err)
		}
		out = append(out, Example{Name: strings.TrimSuffix(e.Name(), ".json"), Body: body})
	}
	return out, nil
}
