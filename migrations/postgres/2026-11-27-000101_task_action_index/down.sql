DROP TABLE action_executions;
DROP TABLE task_executions;
