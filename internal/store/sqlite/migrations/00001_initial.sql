-- The initial schema. Times are Unix microseconds (INTEGER), JSON is TEXT.

-- +goose Up
CREATE TABLE jobs (
    -- seq is the rowid: insertion order, never reused (AUTOINCREMENT).
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    owner            TEXT    NOT NULL DEFAULT '',
    source           TEXT    NOT NULL DEFAULT '',
    workflow         TEXT    NOT NULL DEFAULT '',
    workflow_version TEXT    NOT NULL DEFAULT '',
    params           TEXT,
    graph            TEXT,
    output_nodes     TEXT,
    extra_data       TEXT,
    client_id        TEXT    NOT NULL DEFAULT '',
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 0,
    attempt_log      TEXT,
    backend          TEXT    NOT NULL DEFAULT '',
    progress         TEXT,
    outputs          TEXT,
    error_info       TEXT,
    idempotency_key  TEXT    NOT NULL DEFAULT '',
    request_hash     TEXT    NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    webhook          TEXT    NOT NULL DEFAULT '',
    number           REAL    NOT NULL DEFAULT 0,
    event_seq        INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    dispatched_at    INTEGER,
    started_at       INTEGER,
    finished_at      INTEGER,
    updated_at       INTEGER NOT NULL,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_until      INTEGER
);

-- The scheduler's view and crash recovery: partial indexes hold only the
-- few live jobs, so startup cost does not grow with history.
CREATE INDEX jobs_dispatch ON jobs (priority DESC, seq) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_active ON jobs (seq) WHERE state IN ('dispatched', 'running');
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_owner ON jobs (owner, seq);
CREATE INDEX jobs_client ON jobs (client_id, seq) WHERE client_id <> '';
CREATE UNIQUE INDEX jobs_idempotency ON jobs (owner, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE job_events (
    job_id TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    type   TEXT    NOT NULL,
    data   TEXT,
    time   INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE workflow_versions (
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    graph       TEXT    NOT NULL,
    params      TEXT,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- One row per live workflow name, pointing at its latest version.
CREATE TABLE workflows (
    name    TEXT NOT NULL PRIMARY KEY,
    version TEXT NOT NULL,
    FOREIGN KEY (name, version) REFERENCES workflow_versions (name, version)
);

CREATE TABLE artifacts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL,
    content_type TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    owner        TEXT    NOT NULL DEFAULT '',
    job_id       TEXT    NOT NULL DEFAULT '',
    node_id      TEXT    NOT NULL DEFAULT '',
    filename     TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, job_id, node_id, filename);
CREATE INDEX artifacts_job ON artifacts (job_id, seq);

-- +goose Down
DROP TABLE artifacts;
DROP TABLE workflows;
DROP TABLE workflow_versions;
DROP TABLE job_events;
DROP TABLE jobs;
