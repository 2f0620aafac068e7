package comfy

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	flag.Parse()
	goleak.VerifyTestMain(m)
}

// capturedResponse is one entry of testdata/responses.json.
type capturedResponse struct {
	Name        string `json:"name"`
	Capture     string `json:"capture"`
	Label       string `json:"label"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	BodyFile    string `json:"body_file"`
	Body        []byte `json:"-"`
}

// Route is the path without query and without an /api prefix.
func (r capturedResponse) Route() string {
	p, _, _ := strings.Cut(r.Path, "?")
	if strings.HasPrefix(p, "/api/") {
		p = p[len("/api"):]
	}
	return p
}

func loadResponses(tb testing.TB) []capturedResponse {
	tb.Helper()
	var rs []capturedResponse
	if err := json.Unmarshal(readTestdata(tb, "responses.json"), &rs); err != nil {
		tb.Fatalf("responses.json: %v", err)
	}
	for i := range rs {
		rs[i].Body = readTestdata(tb, rs[i].BodyFile)
	}
	return rs
}

func findResponse(tb testing.TB, name string) capturedResponse {
	tb.Helper()
	for _, r := range loadResponses(tb) {
		if r.Name == name {
			return r
		}
	}
	tb.Fatalf("no captured response %q", name)
	return capturedResponse{}
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// readLines returns the non-empty lines of a .jsonl testdata file.
func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	var out [][]byte
	for line := range bytes.SplitSeq(readTestdata(tb, name), []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// jsonValue decodes data into generic values with exact numbers.
func jsonValue(tb testing.TB, data []byte) any {
	tb.Helper()
	var v any
	if err := decodeUseNumber(data, &v); err != nil {
		tb.Fatalf("invalid JSON %q: %v", truncate(data), err)
	}
	return v
}

// jsonTokens flattens data into its token stream, so two documents compare
// equal only if keys are in the same order and numbers have the same text.
func jsonTokens(tb testing.TB, data []byte) []any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var toks []any
	for {
		t, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return toks
		}
		if err != nil {
			tb.Fatalf("invalid JSON %q: %v", truncate(data), err)
		}
		if d, ok := t.(json.Delim); ok {
			t = string(d)
		}
		toks = append(toks, t)
	}
}

// assertSameJSON fails unless want and got are the same JSON value.
func assertSameJSON(tb testing.TB, want, got []byte) {
	tb.Helper()
	if diff := cmp.Diff(jsonValue(tb, want), jsonValue(tb, got)); diff != "" {
		tb.Errorf("JSON differs (-want +got):\n%s", diff)
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
