-- Workflows registered through a workbook have no checksum (as upstream).
ALTER TABLE workflow_definitions ALTER COLUMN checksum DROP NOT NULL;
