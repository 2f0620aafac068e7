-- Deleting jobs and retention: finished jobs by the time they finished
-- (the retention sweep reads the oldest first), and the file names that
-- hold a blob (a blob is removed only when nothing names it).

-- +goose Up
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX comfy_files_artifact ON comfy_files (artifact_id) WHERE artifact_id <> '';

-- +goose Down
DROP INDEX comfy_files_artifact;
DROP INDEX jobs_finished;
