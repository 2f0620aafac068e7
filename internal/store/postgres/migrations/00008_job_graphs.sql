-- A job's graph, params and extra_data move out of the jobs row into a
-- table of their own, one row per job keyed by its seq. They are written
-- once, when the job is created, while the jobs row gets a new version on
-- every transition. A job without any of the three has no row. Dropped
-- columns free their space as rows are next written (or by VACUUM FULL).
-- jobs.graph_rev is new (random) with each graph row a job gets, so that
-- a replica that keeps graph rows in memory knows when its copy is stale.

-- +goose Up
CREATE TABLE job_graphs (
    job_seq    bigint PRIMARY KEY REFERENCES jobs (seq) ON DELETE CASCADE,
    params     json,
    graph      json,
    extra_data json
);
INSERT INTO job_graphs (job_seq, params, graph, extra_data)
    SELECT seq, params, graph, extra_data FROM jobs
    WHERE params IS NOT NULL OR graph IS NOT NULL OR extra_data IS NOT NULL;
ALTER TABLE jobs DROP COLUMN params, DROP COLUMN graph, DROP COLUMN extra_data,
    ADD COLUMN graph_rev bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN graph_rev;
ALTER TABLE jobs ADD COLUMN params json, ADD COLUMN graph json, ADD COLUMN extra_data json;
UPDATE jobs SET params = g.params, graph = g.graph, extra_data = g.extra_data
    FROM job_graphs g WHERE g.job_seq = jobs.seq;
DROP TABLE job_graphs;
