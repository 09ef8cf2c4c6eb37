-- The default order of GET /v2/executions (created_at, then id): a page is read off this
-- index instead of sorting the whole table.
CREATE INDEX workflow_executions_created_at_id ON workflow_executions (created_at, id);
