// Package deptest holds the test that enforces which of comfygate's
// packages may depend on which: the domain apart from its adapters, the
// dispatcher apart from the wire and the surfaces, the surfaces apart from
// the dispatcher, the ComfyUI protocol and simulator apart from the
// gateway. The rules live in one table in rules_test.go; `go test ./...`
// fails on a forbidden import, naming the chain that brings it in.
//
// It has no code of its own: the package exists for its test.
package deptest
