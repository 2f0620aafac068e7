-- Webhooks and output delivery: what a job's webhook is sent and how its
-- outputs are delivered, the webhook outbox (one message per event told,
-- inserted in the transaction that stores the event) with its attempt
-- log, and settings shared by every replica (the generated signing secret).

-- +goose Up
ALTER TABLE jobs ADD COLUMN webhook_events json;
ALTER TABLE jobs ADD COLUMN output_options json;

CREATE TABLE webhook_messages (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text        NOT NULL UNIQUE,
    job_id          text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner           text        NOT NULL DEFAULT '',
    event_seq       bigint      NOT NULL DEFAULT 0,
    type            text        NOT NULL,
    url             text        NOT NULL,
    host            text        NOT NULL DEFAULT '',
    job             json        NOT NULL,
    state           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    retry_from      timestamptz NOT NULL,
    next_attempt_at timestamptz,
    ended_at        timestamptz,
    lease_owner     text        NOT NULL DEFAULT '',
    lease_until     timestamptz
);
-- Only pending messages are in the claim index, so claims cost nothing
-- as delivered ones pile up.
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_job ON webhook_messages (job_id, seq);

CREATE TABLE webhook_attempts (
    message_id      text        NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    n               integer     NOT NULL,
    job_id          text        NOT NULL,
    time            timestamptz NOT NULL,
    duration_us     bigint      NOT NULL DEFAULT 0,
    status_code     integer     NOT NULL DEFAULT 0,
    error           text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    PRIMARY KEY (message_id, n)
);
CREATE INDEX webhook_attempts_job ON webhook_attempts (job_id);

CREATE TABLE settings (
    name  text NOT NULL PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
ALTER TABLE jobs DROP COLUMN output_options;
ALTER TABLE jobs DROP COLUMN webhook_events;
