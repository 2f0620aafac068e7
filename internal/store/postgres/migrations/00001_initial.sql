-- The initial schema. JSON columns are json (kept byte for byte, unlike
-- jsonb, so graphs round-trip exactly).

-- +goose Up
CREATE TABLE jobs (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               text        NOT NULL UNIQUE,
    owner            text        NOT NULL DEFAULT '',
    source           text        NOT NULL DEFAULT '',
    workflow         text        NOT NULL DEFAULT '',
    workflow_version text        NOT NULL DEFAULT '',
    params           json,
    graph            json,
    output_nodes     json,
    extra_data       json,
    client_id        text        NOT NULL DEFAULT '',
    priority         integer     NOT NULL DEFAULT 0,
    state            text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL DEFAULT 0,
    attempt_log      json,
    backend          text        NOT NULL DEFAULT '',
    progress         json,
    outputs          json,
    error_info       json,
    idempotency_key  text        NOT NULL DEFAULT '',
    request_hash     text        NOT NULL DEFAULT '',
    cancel_requested boolean     NOT NULL DEFAULT false,
    webhook          text        NOT NULL DEFAULT '',
    number           double precision NOT NULL DEFAULT 0,
    event_seq        bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    dispatched_at    timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL,
    lease_owner      text        NOT NULL DEFAULT '',
    lease_until      timestamptz
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
    job_id text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    bigint      NOT NULL,
    type   text        NOT NULL,
    data   json,
    time   timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE workflow_versions (
    name        text        NOT NULL,
    version     text        NOT NULL,
    graph       json        NOT NULL,
    params      json,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (name, version)
);

-- One row per live workflow name, pointing at its latest version.
CREATE TABLE workflows (
    name    text NOT NULL PRIMARY KEY,
    version text NOT NULL,
    FOREIGN KEY (name, version) REFERENCES workflow_versions (name, version)
);

CREATE TABLE artifacts (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text        NOT NULL,
    content_type text        NOT NULL DEFAULT '',
    size         bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    owner        text        NOT NULL DEFAULT '',
    job_id       text        NOT NULL DEFAULT '',
    node_id      text        NOT NULL DEFAULT '',
    filename     text        NOT NULL DEFAULT '',
    kind         text        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, job_id, node_id, filename);
CREATE INDEX artifacts_job ON artifacts (job_id, seq);

-- +goose Down
DROP TABLE artifacts;
DROP TABLE workflows;
DROP TABLE workflow_versions;
DROP TABLE job_events;
DROP TABLE jobs;
