package fidelity

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from testdata/raw")

// TestGoldens keeps the golden files in step with the normaliser: each is
// the normalised form of the real server's raw transcript. With -update it
// rewrites them.
func TestGoldens(t *testing.T) {
	raws, err := loadRaw()
	if err != nil {
		t.Fatal(err)
	}
	wf, err := loadWorkflows()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			raw, ok := raws[sc.name]
			if !ok {
				t.Fatalf("no testdata/raw/%s.raw.json", sc.name)
			}
			got, err := marshalGolden(normalise(raw, wf))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", sc.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldens -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale (run go test -run TestGoldens -update):\n%s", path, cmp.Diff(string(want), string(got)))
			}
		})
	}
	if len(raws) != len(scenarios) {
		t.Errorf("%d raw transcripts for %d scenarios", len(raws), len(scenarios))
	}
}
