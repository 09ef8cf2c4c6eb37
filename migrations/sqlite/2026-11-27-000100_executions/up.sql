-- Workflow executions with the engine's complete state of each (engine_state, JSON), an outbox
-- of messages for other components written in the same transaction as the state, and
-- scheduled jobs (engine timers) polled by the dispatcher.
CREATE TABLE workflow_executions (
    id TEXT PRIMARY KEY NOT NULL,
    workflow_name TEXT NOT NULL,
    workflow_id TEXT,
    workflow_namespace TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT,
    state TEXT NOT NULL,
    state_info TEXT,
    params TEXT,
    input TEXT,
    output TEXT,
    task_execution_id TEXT,
    root_execution_id TEXT,
    parent_execution_id TEXT,
    project_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'private',
    engine_state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP
);
CREATE INDEX workflow_executions_root ON workflow_executions (root_execution_id);
CREATE INDEX workflow_executions_parent ON workflow_executions (parent_execution_id);

CREATE TABLE engine_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    message TEXT NOT NULL,
    sent BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX engine_outbox_unsent ON engine_outbox (sent, seq);

CREATE TABLE scheduled_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    execution_id TEXT NOT NULL,
    message TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX scheduled_jobs_run_at ON scheduled_jobs (run_at);
