-- The ComfyUI-compatible surface: what it keeps per job, and the file
-- names it shows (per-owner input/output/temp namespaces).

-- +goose Up
ALTER TABLE jobs ADD COLUMN comfy json;
ALTER TABLE jobs ADD COLUMN comfy_history json;

CREATE TABLE comfy_files (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner            text        NOT NULL DEFAULT '',
    type             text        NOT NULL,
    subfolder        text        NOT NULL DEFAULT '',
    filename         text        NOT NULL,
    prefix           text        NOT NULL DEFAULT '',
    counter          integer     NOT NULL DEFAULT 0,
    artifact_id      text        NOT NULL DEFAULT '',
    job_id           text        NOT NULL DEFAULT '',
    backend          text        NOT NULL DEFAULT '',
    origin_type      text        NOT NULL DEFAULT '',
    origin_subfolder text        NOT NULL DEFAULT '',
    origin_filename  text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX comfy_files_name ON comfy_files (owner, type, subfolder, filename);
CREATE INDEX comfy_files_counter ON comfy_files (owner, type, subfolder, prefix, counter);
CREATE INDEX comfy_files_origin ON comfy_files (owner, backend, origin_type, origin_subfolder, origin_filename, seq);
CREATE INDEX comfy_files_job ON comfy_files (job_id, seq) WHERE job_id <> '';

-- +goose Down
DROP TABLE comfy_files;
ALTER TABLE jobs DROP COLUMN comfy_history;
ALTER TABLE jobs DROP COLUMN comfy;
