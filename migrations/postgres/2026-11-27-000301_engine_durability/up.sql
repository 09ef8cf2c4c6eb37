-- Durable hand-over (engine.md, durability): outbox rows and scheduled jobs are deleted in the
-- transaction that applies them; a failed hand-over is retried later (not_before/run_at,
-- attempts) and one that can never succeed is parked with its error. Actions handed to an
-- executor hold a lease that the executor's heartbeat extends; an expired lease means the
-- executor is gone and the action is re-run (when safe) or failed.
ALTER TABLE engine_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE engine_outbox ADD COLUMN not_before TIMESTAMP;
ALTER TABLE engine_outbox ADD COLUMN parked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE engine_outbox ADD COLUMN last_error TEXT;
ALTER TABLE scheduled_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scheduled_jobs ADD COLUMN parked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE scheduled_jobs ADD COLUMN last_error TEXT;

CREATE TABLE action_leases (
    action_execution_id TEXT PRIMARY KEY NOT NULL,
    execution_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    safe_rerun BOOLEAN NOT NULL DEFAULT FALSE,
    message TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX action_leases_expires ON action_leases (expires_at);
CREATE INDEX action_leases_owner ON action_leases (owner);
