DROP TABLE event_triggers;
DROP TABLE cron_triggers;
