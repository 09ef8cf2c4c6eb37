-- Workflows registered through a workbook have no checksum (as upstream). SQLite cannot
-- drop NOT NULL in place, so the table is rebuilt.
CREATE TABLE workflow_definitions_new (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL DEFAULT '',
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    is_system BOOLEAN NOT NULL DEFAULT FALSE,
    definition TEXT NOT NULL,
    spec TEXT NOT NULL,
    input TEXT,
    interface TEXT,
    checksum VARCHAR(32),
    tags TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT workflow_definitions_name_namespace_project UNIQUE (name, namespace, project_id)
);
INSERT INTO workflow_definitions_new
    SELECT id, name, namespace, project_id, scope, is_system, definition, spec, input, interface,
           checksum, tags, created_at, updated_at
    FROM workflow_definitions;
DROP TABLE workflow_definitions;
ALTER TABLE workflow_definitions_new RENAME TO workflow_definitions;
CREATE INDEX workflow_definitions_project_scope ON workflow_definitions (project_id, scope);
