-- A job's graph, params and extra_data move out of the jobs row into a
-- table of their own, one row per job keyed by its seq (the rowid: no
-- second index). They are written once, when the job is created, while
-- the jobs row is rewritten on every transition: in it, a large graph was
-- copied with each one. A job without any of the three has no row.
-- jobs.graph_rev is new (random) with each graph row a job gets, so that
-- a store that keeps graph rows in memory knows when its copy is stale.

-- +goose Up
CREATE TABLE job_graphs (
    job_seq    INTEGER PRIMARY KEY REFERENCES jobs (seq) ON DELETE CASCADE,
    params     TEXT,
    graph      TEXT,
    extra_data TEXT
);
INSERT INTO job_graphs (job_seq, params, graph, extra_data)
    SELECT seq, params, graph, extra_data FROM jobs
    WHERE params IS NOT NULL OR graph IS NOT NULL OR extra_data IS NOT NULL;
ALTER TABLE jobs DROP COLUMN params;
ALTER TABLE jobs DROP COLUMN graph;
ALTER TABLE jobs DROP COLUMN extra_data;
ALTER TABLE jobs ADD COLUMN graph_rev INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN graph_rev;
ALTER TABLE jobs ADD COLUMN params TEXT;
ALTER TABLE jobs ADD COLUMN graph TEXT;
ALTER TABLE jobs ADD COLUMN extra_data TEXT;
UPDATE jobs SET (params, graph, extra_data) =
    (SELECT params, graph, extra_data FROM job_graphs WHERE job_seq = jobs.seq)
    WHERE seq IN (SELECT job_seq FROM job_graphs);
DROP TABLE job_graphs;
