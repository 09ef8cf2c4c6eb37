UPDATE workflow_definitions SET checksum = '' WHERE checksum IS NULL;
ALTER TABLE workflow_definitions ALTER COLUMN checksum SET NOT NULL;
