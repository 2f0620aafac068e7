-- Scale-out: the fleet's backends (so that run-time additions reach every
-- replica and survive restarts), each with the lease that gives it to
-- exactly one replica, the replicas' heartbeats, by which the backends are
-- shared out, and the bodies of cross-replica messages too large for a
-- NOTIFY payload (8000 bytes): the notification carries the row's id, and
-- rows older than a minute are pruned.

-- +goose Up
CREATE TABLE backends (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text        NOT NULL UNIQUE,
    url          text        NOT NULL,
    max_inflight integer     NOT NULL DEFAULT 0,
    draining     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    lease_owner  text        NOT NULL DEFAULT '',
    lease_until  timestamptz
);
CREATE INDEX backends_lease ON backends (lease_owner);

CREATE TABLE replicas (
    id          text        NOT NULL PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    alive_until timestamptz NOT NULL
);

CREATE TABLE bus_payloads (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    body       bytea       NOT NULL
);
CREATE INDEX bus_payloads_created ON bus_payloads (created_at);

-- +goose Down
DROP TABLE bus_payloads;
DROP TABLE replicas;
DROP TABLE backends;
