package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

// TestListJobsPagesByBytes: a page ends early once its jobs weigh more
// than pageBytes, and the pages after it carry on without a gap or a
// repeat.
func TestListJobsPagesByBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n, each = 20, 3 << 20 // five jobs fill a page
	var want []string
	for i := range n {
		graph := fmt.Sprintf(`{"1":{"class_type":"Note","inputs":{"text":%q}}}`, strings.Repeat("x", each))
		j, _, err := e.store.CreateJob(t.Context(), &job.Job{ID: fmt.Sprintf("job-%02d", i), Owner: "alice", Source: job.SourceREST,
			Graph: json.RawMessage(graph), MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{j.ID}, want...) // newest first
	}
	var got []string
	q := JobQuery{Limit: 100}
	for pages := 1; ; pages++ {
		page, err := e.svc.ListJobs(t.Context(), "alice", q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Jobs) == 0 || len(page.Jobs) > pageBytes/each+1 {
			t.Fatalf("page %d has %d jobs of %d bytes each, want 1 to %d", pages, len(page.Jobs), each, pageBytes/each+1)
		}
		for _, j := range page.Jobs {
			if len(j.Graph) < each {
				t.Fatalf("job %s listed without its graph", j.ID)
			}
			got = append(got, j.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listed\n %v\nwant\n %v", got, want)
	}
}
