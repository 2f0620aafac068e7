-- Scale-out: the fleet's backends (so that run-time additions survive a
-- restart), each with the lease that gives it to exactly one replica, and
-- the replicas' heartbeats, by which the backends are shared out. With
-- SQLite there is one replica, which holds every lease.

-- +goose Up
CREATE TABLE backends (
    -- seq orders the listing: the order backends were first declared in.
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    url          TEXT    NOT NULL,
    max_inflight INTEGER NOT NULL DEFAULT 0,
    draining     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  INTEGER
);
CREATE INDEX backends_lease ON backends (lease_owner);

CREATE TABLE replicas (
    id          TEXT    NOT NULL PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    alive_until INTEGER NOT NULL
);

-- +goose Down
DROP TABLE replicas;
DROP TABLE backends;
