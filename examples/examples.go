// Package examples holds example workflows: API-format graphs that the
// README's tour PUTs by file name and that `comfygate demo` stores at start.
// They live at the repository root so that the documentation and the binary
// use the very same files.
package examples

import "embed"

// FS holds the example workflows, one NAME.json per workflow, each a bare
// API-format graph (the gateway detects its parameters).
//
//go:embed *.json
var FS embed.FS
