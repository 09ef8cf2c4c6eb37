-- The default order of GET /v2/executions (created_at ASC NULLS FIRST, then id, as the list
-- query writes it): a page is read off this index instead of sorting the whole table.
CREATE INDEX workflow_executions_created_at_id
    ON workflow_executions (created_at NULLS FIRST, id NULLS FIRST);
