DROP TABLE engine_records;
