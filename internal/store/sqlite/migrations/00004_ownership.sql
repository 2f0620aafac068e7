-- Ownership: workflows live in per-owner namespaces ('' is the shared
-- one, which every workflow stored so far joins), and an artifact record is
-- one owner's claim on a blob, so the same bytes stored by two owners are a
-- record each. SQLite cannot change a primary key in place: the workflow
-- tables are rebuilt (the child first out, the parent first in).

-- +goose Up
CREATE TABLE workflow_versions_new (
    owner       TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    graph       TEXT    NOT NULL,
    params      TEXT,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, name, version)
);
INSERT INTO workflow_versions_new (owner, name, version, graph, params, description, created_at, updated_at)
    SELECT '', name, version, graph, params, description, created_at, updated_at FROM workflow_versions;

CREATE TABLE workflows_new (
    owner   TEXT NOT NULL DEFAULT '',
    name    TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (owner, name),
    FOREIGN KEY (owner, name, version) REFERENCES workflow_versions_new (owner, name, version)
);
INSERT INTO workflows_new (owner, name, version) SELECT '', name, version FROM workflows;

DROP TABLE workflows;
DROP TABLE workflow_versions;
ALTER TABLE workflow_versions_new RENAME TO workflow_versions;
ALTER TABLE workflows_new RENAME TO workflows;

DROP INDEX artifacts_key;
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, owner, job_id, node_id, filename);

-- +goose Down
-- Only the shared namespace fits the old tables; owners' own workflows and
-- their second records of a blob are dropped.
DELETE FROM artifacts WHERE seq NOT IN (SELECT MIN(seq) FROM artifacts GROUP BY id, job_id, node_id, filename);
DROP INDEX artifacts_key;
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, job_id, node_id, filename);

CREATE TABLE workflow_versions_old (
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    graph       TEXT    NOT NULL,
    params      TEXT,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
INSERT INTO workflow_versions_old (name, version, graph, params, description, created_at, updated_at)
    SELECT name, version, graph, params, description, created_at, updated_at FROM workflow_versions WHERE owner = '';
CREATE TABLE workflows_old (
    name    TEXT NOT NULL PRIMARY KEY,
    version TEXT NOT NULL,
    FOREIGN KEY (name, version) REFERENCES workflow_versions_old (name, version)
);
INSERT INTO workflows_old (name, version) SELECT name, version FROM workflows WHERE owner = '';
DROP TABLE workflows;
DROP TABLE workflow_versions;
ALTER TABLE workflow_versions_old RENAME TO workflow_versions;
ALTER TABLE workflows_old RENAME TO workflows;
