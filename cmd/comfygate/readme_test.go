package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMELayoutListsEveryVerb keeps the README's layout table in step
// with the binary: its cmd/comfygate row names every verb `comfygate -h`
// lists, and no other.
func TestREADMELayoutListsEveryVerb(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `cmd/comfygate` \\| (.*) \\|$").FindSubmatch(readme)
	if row == nil {
		t.Fatal("README.md has no cmd/comfygate row in its layout table")
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllSubmatch(row[1], -1) {
		listed = append(listed, string(m[1]))
	}
	var verbs []string
	for _, c := range newRootCommand(io.Discard, io.Discard).Subcommands {
		verbs = append(verbs, c.Name)
	}
	slices.Sort(listed)
	slices.Sort(verbs)
	if !slices.Equal(listed, verbs) {
		t.Errorf("README's cmd/comfygate row lists %s; the binary's verbs are %s", strings.Join(listed, ", "), strings.Join(verbs, ", "))
	}
}
