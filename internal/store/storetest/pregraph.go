package storetest

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

// PreGraphJob is a job as the schema before job_graphs (migration 7) kept
// it: graph, params and extra_data in the jobs row. nil stands for NULL.
type PreGraphJob struct {
	ID                       string
	Params, Graph, ExtraData any
}

// PreGraphJobs are the jobs an engine's migration test stores under
// migration 7, with one event of "with-all", before migrating past 8.
var PreGraphJobs = []PreGraphJob{
	{"with-all", `{"seed": 1e3}`, strings.Repeat(" ", 3) + `{"1":{"inputs":{"text":"café — €"}}}` + "\n", `{"client_id":"c"}`},
	{"large", nil, `{"1":{"inputs":{"text":"` + strings.Repeat("word ", 40_000) + `"}}}`, nil},
	{"extra-only", nil, nil, `{"extra_pnginfo":{}}`},
	{"bare", nil, nil, nil},
}

func text(v any) string {
	s, _ := v.(string)
	return s
}

// MigratedGraphs checks s, opened on a database that held PreGraphJobs
// and has migrated past 8: every job reads back byte for byte with its
// event, and, once s is closed, db (a plain connection to the same
// database) holds a graph row for each job that has any of the three.
func MigratedGraphs(t *testing.T, s job.Store, db *sql.DB) {
	t.Helper()
	ctx := t.Context()
	for _, o := range PreGraphJobs {
		j, err := s.GetJob(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(j.Params) != text(o.Params) || string(j.Graph) != text(o.Graph) || string(j.ExtraData) != text(o.ExtraData) {
			t.Errorf("job %s after migrating: params %q, extra_data %q, graph of %d bytes; want them as they were",
				o.ID, j.Params, j.ExtraData, len(j.Graph))
		}
	}
	if evs, err := s.ListEvents(ctx, "with-all", 0, 0); err != nil || len(evs) != 1 {
		t.Errorf("events after migrating: %v, %v", evs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM job_graphs`).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("%d graph rows, %v; want 3 (the bare job has none)", rows, err)
	}
}

// GraphsBackInJobsRow checks, after migrating down to 7, that db's jobs
// rows hold PreGraphJobs' graph, params and extra_data as they were.
// byID is the engine's SELECT params, graph, extra_data FROM jobs by id.
func GraphsBackInJobsRow(t *testing.T, db *sql.DB, byID string) {
	t.Helper()
	for _, o := range PreGraphJobs {
		var params, graph, extra sql.NullString
		if err := db.QueryRowContext(t.Context(), byID, o.ID).Scan(&params, &graph, &extra); err != nil {
			t.Fatal(err)
		}
		if params.String != text(o.Params) || graph.String != text(o.Graph) || extra.String != text(o.ExtraData) {
			t.Errorf("job %s after migrating down: not as it was", o.ID)
		}
	}
}
