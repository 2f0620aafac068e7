package server

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// BenchmarkReplicas measures jobs/s through 1 and 3 replicas sharing one
// PostgreSQL database (a throwaway server with fsync off: the cost
// measured is the gateway's and the protocol's, not a disk's), in front of
// 6 zero-time simulators, with 16 clients submitting with ?wait= round-robin
// over the replicas; and what each job costs PostgreSQL: statements
// (pg_stat_statements, when the server has it), commits, WAL bytes, and
// the NOTIFY traffic between replicas. Every replica serves all three
// surfaces; the replicas share an artifact directory (one host).
//
//	go test -run '^$' -bench Replicas -benchtime 400x ./internal/server/
func BenchmarkReplicas(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReplicas(b, 0, 6, 16) })
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			benchReplicas(b, n, 6, 16)
		})
	}
}

func benchReplicas(b *testing.B, replicas, backends, clients int) {
	dsn := postgresDSN(b)
	enableStatements(b, dsn)
	db := dsn
	if replicas == 0 { // the single-process baseline
		replicas, db = 1, ""
	}
	var bcs []BackendConfig
	for i := range backends {
		sim := comfysim.Start(b, comfysim.Options{})
		bcs = append(bcs, BackendConfig{ID: fmt.Sprintf("sim%d", i+1), URL: sim.URL()})
	}
	arts := b.TempDir()
	var ss []*Server
	for i := range replicas {
		ss = append(ss, startServer(b, Config{Database: db, Artifacts: arts, Backends: bcs, InstanceID: fmt.Sprintf("bench-%d", i+1)}))
	}
	hc := client(b)
	for _, s := range ss {
		waitReady(b, hc, s)
	}
	waitShared(b, ss, backends/replicas)
	jobs := newJobSource(b)
	runners := make([]runner, replicas)
	for i, s := range ss {
		runners[i] = gatewayRunner(b, hc, s.URL(), "", jobs)
	}
	run := func(tb testing.TB, i int) time.Duration { return runners[i%replicas](tb, i) }
	measure(b, clients, 2*clients, run) // warm up: sockets, caches, the graph's catalog
	pg0, lost0 := readPG(b, dsn), claimsLost(b, hc, ss)
	notifies0, bytes0, msgs0 := busTotals(ss)
	b.ResetTimer()
	start := time.Now()
	lat := measure(b, clients, b.N, run)
	elapsed := time.Since(start)
	b.StopTimer()
	pg1, lost1 := readPG(b, dsn), claimsLost(b, hc, ss)
	notifies1, bytes1, msgs1 := busTotals(ss)
	per := func(x float64) float64 { return x / float64(b.N) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(median(lat), "p50-ms")
	if pg1.haveStatements {
		b.ReportMetric(per(pg1.statements-pg0.statements), "stmts/job")
	}
	b.ReportMetric(per(pg1.commits-pg0.commits), "commits/job")
	b.ReportMetric(per(pg1.walBytes-pg0.walBytes), "wal-B/job")
	b.ReportMetric(per(notifies1-notifies0), "notifies/job")
	b.ReportMetric(per(msgs1-msgs0), "bus-msgs/job")
	b.ReportMetric(per(bytes1-bytes0), "notify-B/job")
	b.ReportMetric(per(lost1-lost0), "claims-lost/job")
	if testing.Verbose() && pg1.haveStatements {
		logStatements(b, dsn, float64(b.N))
	}
}

// logStatements logs the statements PostgreSQL ran most often (per job,
// since warm-up ended), for the README's account of what a job costs.
func logStatements(tb testing.TB, dsn string, jobs float64) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT calls, wal_bytes, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY calls DESC LIMIT 20`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			calls, wal float64
			q          string
		)
		if err := rows.Scan(&calls, &wal, &q); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("%6.2f/job %7.0f WAL B/job  %s", calls/jobs, wal/jobs, q)
	}
}

// waitShared waits until every replica drives want backends.
func waitShared(tb testing.TB, ss []*Server, want int) {
	tb.Helper()
	ok := poll(func() bool {
		for _, s := range ss {
			n := 0
			for _, b := range s.parts.fleet.Backends() {
				if b.Replica == s.parts.instanceID {
					n++
				}
			}
			if n != want {
				return false
			}
		}
		return true
	})
	if !ok {
		tb.Fatalf("the replicas never drove %d backends each", want)
	}
}

// pgCounters are what PostgreSQL did, read from its statistics views.
type pgCounters struct {
	statements, walBytes, commits float64
	haveStatements                bool
}

// readPG reads the database-wide counters (the benchmark's server runs
// nothing else).
func readPG(tb testing.TB, dsn string) pgCounters {
	tb.Helper()
	var c pgCounters
	withPG(tb, dsn, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.commits); err != nil {
			tb.Fatal(err)
		}
		err := conn.QueryRow(ctx, `SELECT coalesce(sum(calls), 0), coalesce(sum(wal_bytes), 0) FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&c.statements, &c.walBytes)
		c.haveStatements = err == nil
		if !c.haveStatements {
			var lsn string
			if err := conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err == nil {
				c.walBytes = lsnBytes(lsn)
			}
		}
	})
	return c
}

// withPG runs fn on a connection of its own to dsn.
func withPG(tb testing.TB, dsn string, fn func(context.Context, *pgx.Conn)) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	fn(ctx, conn)
}

// lsnBytes turns a WAL position "X/Y" into bytes.
func lsnBytes(lsn string) float64 {
	var hi, lo uint64
	if _, err := fmt.Sscanf(lsn, "%X/%X", &hi, &lo); err != nil {
		return 0
	}
	return float64(hi<<32 | lo)
}

// enableStatements creates pg_stat_statements where the server preloads
// it, and clears it.
func enableStatements(tb testing.TB, dsn string) {
	tb.Helper()
	withPG(tb, dsn, func(ctx context.Context, conn *pgx.Conn) {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err == nil {
			_, _ = conn.Exec(ctx, `SELECT pg_stat_statements_reset()`)
		}
	})
}

// busTotals sums the NOTIFY traffic of the replicas.
func busTotals(ss []*Server) (notifies, bytes, messages float64) {
	for _, s := range ss {
		if r := s.parts.replicas; r != nil {
			st := r.bus.Stats()
			notifies += float64(st.Notifies)
			bytes += float64(st.Bytes + st.SpillBytes)
			messages += float64(st.Sent)
		}
	}
	return
}

// claimsLost sums the replicas' lost claims (a job another replica claimed
// first).
func claimsLost(tb testing.TB, hc *http.Client, ss []*Server) float64 {
	total := 0.0
	re := regexp.MustCompile(`(?m)^comfygate_fleet_claims_lost_total\{[^}]*\} (\S+)$`)
	for _, s := range ss {
		_, m := get(tb, hc, s.URL()+"/metrics")
		for _, g := range re.FindAllSubmatch(m, -1) {
			v, _ := strconv.ParseFloat(string(g[1]), 64)
			total += v
		}
	}
	return total
}
