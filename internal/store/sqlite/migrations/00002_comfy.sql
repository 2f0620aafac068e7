-- The ComfyUI-compatible surface: what it keeps per job, and the file
-- names it shows (per-owner input/output/temp namespaces).

-- +goose Up
ALTER TABLE jobs ADD COLUMN comfy TEXT;
ALTER TABLE jobs ADD COLUMN comfy_history TEXT;

CREATE TABLE comfy_files (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    owner            TEXT    NOT NULL DEFAULT '',
    type             TEXT    NOT NULL,
    subfolder        TEXT    NOT NULL DEFAULT '',
    filename         TEXT    NOT NULL,
    prefix           TEXT    NOT NULL DEFAULT '',
    counter          INTEGER NOT NULL DEFAULT 0,
    artifact_id      TEXT    NOT NULL DEFAULT '',
    job_id           TEXT    NOT NULL DEFAULT '',
    backend          TEXT    NOT NULL DEFAULT '',
    origin_type      TEXT    NOT NULL DEFAULT '',
    origin_subfolder TEXT    NOT NULL DEFAULT '',
    origin_filename  TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX comfy_files_name ON comfy_files (owner, type, subfolder, filename);
CREATE INDEX comfy_files_counter ON comfy_files (owner, type, subfolder, prefix, counter);
CREATE INDEX comfy_files_origin ON comfy_files (owner, backend, origin_type, origin_subfolder, origin_filename, seq);
CREATE INDEX comfy_files_job ON comfy_files (job_id, seq) WHERE job_id <> '';

-- +goose Down
DROP TABLE comfy_files;
ALTER TABLE jobs DROP COLUMN comfy_history;
ALTER TABLE jobs DROP COLUMN comfy;
