DROP TABLE environments;
DROP TABLE action_definitions;
DROP TABLE workflow_definitions;
DROP TABLE workbooks;
