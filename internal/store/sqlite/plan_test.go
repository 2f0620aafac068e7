package sqlite_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// TestSchedulerQueriesUseIndexes keeps gateway start-up independent of how
// many finished jobs the store holds: SQLite must serve the scheduler's
// queries from the partial indexes, never by scanning the jobs table. The
// queries of job deletion and retention are held to the same rule.
func TestSchedulerQueriesUseIndexes(t *testing.T) {
	path := tempPath(t)
	s := open(t, sqlite.Config{Path: path})
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, q := range s.IndexedQueries() {
		t.Run(name, func(t *testing.T) {
			rows, err := db.Query("EXPLAIN QUERY PLAN "+q.SQL, q.Args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			for _, step := range plan {
				// "SCAN jobs" without "USING … INDEX" reads every row.
				// "SCAN CONSTANT ROW" is the one row of a SELECT without FROM.
				if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "INDEX") && step != "SCAN CONSTANT ROW" {
					t.Errorf("full scan in plan:\n%s", strings.Join(plan, "\n"))
				}
				if strings.Contains(step, "TEMP B-TREE") {
					t.Errorf("sort without an index in plan:\n%s", strings.Join(plan, "\n"))
				}
			}
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
		})
	}
}
