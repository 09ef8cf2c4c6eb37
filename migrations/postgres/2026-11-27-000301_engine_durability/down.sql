DROP TABLE action_leases;
ALTER TABLE scheduled_jobs DROP COLUMN last_error;
ALTER TABLE scheduled_jobs DROP COLUMN parked;
ALTER TABLE scheduled_jobs DROP COLUMN attempts;
ALTER TABLE engine_outbox DROP COLUMN last_error;
ALTER TABLE engine_outbox DROP COLUMN parked;
ALTER TABLE engine_outbox DROP COLUMN not_before;
ALTER TABLE engine_outbox DROP COLUMN attempts;
