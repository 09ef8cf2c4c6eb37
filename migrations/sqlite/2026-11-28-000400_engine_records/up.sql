-- The engine's task and action execution records, one row each, so that a command stores
-- only the records it changed instead of rewriting the whole state of the execution
-- (a with-items task over 10,000 items has 10,000 action records).
-- workflow_executions.engine_state keeps the definition and the workflow execution itself.
CREATE TABLE engine_records (
    id TEXT PRIMARY KEY NOT NULL,
    execution_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    position BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX engine_records_execution ON engine_records (execution_id, kind, position);
