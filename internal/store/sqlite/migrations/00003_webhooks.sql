-- Webhooks and output delivery: what a job's webhook is sent and how its
-- outputs are delivered, the webhook outbox (one message per event told,
-- inserted in the transaction that stores the event) with its attempt
-- log, and settings shared by every replica (the generated signing secret).

-- +goose Up
ALTER TABLE jobs ADD COLUMN webhook_events TEXT;
ALTER TABLE jobs ADD COLUMN output_options TEXT;

CREATE TABLE webhook_messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    job_id          TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner           TEXT    NOT NULL DEFAULT '',
    event_seq       INTEGER NOT NULL DEFAULT 0,
    type            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    host            TEXT    NOT NULL DEFAULT '',
    job             TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    retry_from      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    ended_at        INTEGER,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER
);
-- Only pending messages are in the claim index, so claims cost nothing
-- as delivered ones pile up.
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_job ON webhook_messages (job_id, seq);

CREATE TABLE webhook_attempts (
    message_id      TEXT    NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    n               INTEGER NOT NULL,
    job_id          TEXT    NOT NULL,
    time            INTEGER NOT NULL,
    duration_us     INTEGER NOT NULL DEFAULT 0,
    status_code     INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER,
    PRIMARY KEY (message_id, n)
) WITHOUT ROWID;
CREATE INDEX webhook_attempts_job ON webhook_attempts (job_id);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
ALTER TABLE jobs DROP COLUMN output_options;
ALTER TABLE jobs DROP COLUMN webhook_events;
