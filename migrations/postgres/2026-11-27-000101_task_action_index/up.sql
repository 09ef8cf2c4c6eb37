-- Queryable copies of the task and action executions held in workflow_executions.engine_state,
-- rewritten with the state in the same transaction (lists, filters, lookups by id).
CREATE TABLE task_executions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    workflow_namespace TEXT NOT NULL DEFAULT '',
    workflow_id TEXT,
    workflow_execution_id TEXT NOT NULL,
    tags TEXT,
    state TEXT NOT NULL,
    state_info TEXT,
    runtime_context TEXT,
    published TEXT,
    processed BOOLEAN NOT NULL DEFAULT FALSE,
    project_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'private',
    seq BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX task_executions_wf ON task_executions (workflow_execution_id);

CREATE TABLE action_executions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    workflow_name TEXT,
    workflow_namespace TEXT NOT NULL DEFAULT '',
    task_name TEXT,
    task_execution_id TEXT,
    workflow_execution_id TEXT,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT,
    state TEXT NOT NULL,
    state_info TEXT,
    accepted BOOLEAN NOT NULL DEFAULT FALSE,
    input TEXT,
    output TEXT,
    params TEXT,
    project_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'private',
    seq BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE INDEX action_executions_wf ON action_executions (workflow_execution_id);
CREATE INDEX action_executions_task ON action_executions (task_execution_id);
