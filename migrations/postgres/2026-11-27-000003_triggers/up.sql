-- Cron triggers and event triggers.
CREATE TABLE cron_triggers (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    pattern TEXT NOT NULL DEFAULT '0 0 30 2 0',
    first_execution_time TIMESTAMP,
    next_execution_time TIMESTAMP NOT NULL,
    workflow_name VARCHAR(255) NOT NULL,
    workflow_id VARCHAR(36) NOT NULL,
    remaining_executions INTEGER,
    workflow_input TEXT NOT NULL,
    workflow_input_hash VARCHAR(64) NOT NULL,
    workflow_params TEXT NOT NULL,
    workflow_params_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT cron_triggers_name_project UNIQUE (name, project_id),
    CONSTRAINT cron_triggers_definition UNIQUE (workflow_input_hash, workflow_name, pattern,
        project_id, workflow_params_hash, remaining_executions, first_execution_time)
);
CREATE INDEX cron_triggers_next_execution_time ON cron_triggers (next_execution_time);
CREATE INDEX cron_triggers_workflow_id ON cron_triggers (workflow_id);

CREATE TABLE event_triggers (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    project_id VARCHAR(80) NOT NULL,
    scope VARCHAR(80) NOT NULL DEFAULT 'private',
    workflow_id VARCHAR(36) NOT NULL,
    workflow_input TEXT NOT NULL,
    workflow_params TEXT NOT NULL,
    exchange TEXT NOT NULL,
    topic TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT event_triggers_key UNIQUE (exchange, topic, event, workflow_id, project_id)
);
CREATE INDEX event_triggers_workflow_id ON event_triggers (workflow_id);
