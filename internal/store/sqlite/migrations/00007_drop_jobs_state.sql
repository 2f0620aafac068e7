-- No query reads jobs by state alone any more (the scheduler and recovery
-- use the partial indexes), yet every state change rewrote an entry of
-- jobs_state: one page more in each of a job's commits.

-- +goose Up
DROP INDEX jobs_state;

-- +goose Down
CREATE INDEX jobs_state ON jobs (state);
