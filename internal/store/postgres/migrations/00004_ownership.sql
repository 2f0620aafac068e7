-- Ownership: workflows live in per-owner namespaces ('' is the shared
-- one, which every workflow stored so far joins), and an artifact record is
-- one owner's claim on a blob, so the same bytes stored by two owners are a
-- record each.

-- +goose Up
ALTER TABLE workflows DROP CONSTRAINT workflows_name_version_fkey;
ALTER TABLE workflows DROP CONSTRAINT workflows_pkey;
ALTER TABLE workflow_versions DROP CONSTRAINT workflow_versions_pkey;
ALTER TABLE workflow_versions ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE workflows ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE workflow_versions ADD PRIMARY KEY (owner, name, version);
ALTER TABLE workflows ADD PRIMARY KEY (owner, name);
ALTER TABLE workflows ADD CONSTRAINT workflows_version_fkey
    FOREIGN KEY (owner, name, version) REFERENCES workflow_versions (owner, name, version);

DROP INDEX artifacts_key;
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, owner, job_id, node_id, filename);

-- +goose Down
-- Only the shared namespace fits the old keys; owners' own workflows and
-- their second records of a blob are dropped.
DELETE FROM artifacts WHERE seq NOT IN (SELECT MIN(seq) FROM artifacts GROUP BY id, job_id, node_id, filename);
DROP INDEX artifacts_key;
CREATE UNIQUE INDEX artifacts_key ON artifacts (id, job_id, node_id, filename);

DELETE FROM workflows WHERE owner <> '';
DELETE FROM workflow_versions WHERE owner <> '';
ALTER TABLE workflows DROP CONSTRAINT workflows_version_fkey;
ALTER TABLE workflows DROP CONSTRAINT workflows_pkey;
ALTER TABLE workflow_versions DROP CONSTRAINT workflow_versions_pkey;
ALTER TABLE workflows DROP COLUMN owner;
ALTER TABLE workflow_versions DROP COLUMN owner;
ALTER TABLE workflow_versions ADD PRIMARY KEY (name, version);
ALTER TABLE workflows ADD PRIMARY KEY (name);
ALTER TABLE workflows ADD CONSTRAINT workflows_name_version_fkey
    FOREIGN KEY (name, version) REFERENCES workflow_versions (name, version);
