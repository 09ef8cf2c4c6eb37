-- Definitions: workbooks, workflows, ad-hoc actions, environments.
CREATE TABLE workbooks (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL DEFAULT '',
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    definition TEXT NOT NULL,
    spec TEXT,
    tags TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT workbooks_name_namespace_project UNIQUE (name, namespace, project_id)
);

CREATE TABLE workflow_definitions (
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
    checksum VARCHAR(32) NOT NULL,
    tags TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT workflow_definitions_name_namespace_project UNIQUE (name, namespace, project_id)
);
CREATE INDEX workflow_definitions_project_scope ON workflow_definitions (project_id, scope);

CREATE TABLE action_definitions (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL DEFAULT '',
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    is_system BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    input TEXT,
    definition TEXT NOT NULL,
    spec TEXT NOT NULL,
    tags TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT action_definitions_name_namespace_project UNIQUE (name, namespace, project_id)
);

CREATE TABLE environments (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    variables TEXT,
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT environments_name_project UNIQUE (name, project_id)
);
