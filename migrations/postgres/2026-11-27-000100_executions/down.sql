DROP TABLE scheduled_jobs;
DROP TABLE engine_outbox;
DROP TABLE workflow_executions;
