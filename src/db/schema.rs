//! Diesel table definitions (kept in sync with migrations/{sqlite,postgres} by hand).

diesel::table! {
    workbooks (id) {
        id -> Text,
        name -> Text,
        namespace -> Text,
        project_id -> Text,
        scope -> Text,
        definition -> Text,
        spec -> Nullable<Text>,
        tags -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    workflow_definitions (id) {
        id -> Text,
        name -> Text,
        namespace -> Text,
        project_id -> Text,
        scope -> Text,
        is_system -> Bool,
        definition -> Text,
        spec -> Text,
        input -> Nullable<Text>,
        interface -> Nullable<Text>,
        checksum -> Nullable<Text>,
        tags -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    action_definitions (id) {
        id -> Text,
        name -> Text,
        namespace -> Text,
        project_id -> Text,
        scope -> Text,
        is_system -> Bool,
        description -> Nullable<Text>,
        input -> Nullable<Text>,
        definition -> Text,
        spec -> Text,
        tags -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    environments (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        variables -> Nullable<Text>,
        project_id -> Text,
        scope -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    workbooks,
    workflow_definitions,
    action_definitions,
    environments,
);

diesel::table! {
    cron_triggers (id) {
        id -> Text,
        name -> Text,
        project_id -> Text,
        scope -> Text,
        pattern -> Text,
        first_execution_time -> Nullable<Timestamp>,
        next_execution_time -> Timestamp,
        workflow_name -> Text,
        workflow_id -> Text,
        remaining_executions -> Nullable<Integer>,
        workflow_input -> Text,
        workflow_input_hash -> Text,
        workflow_params -> Text,
        workflow_params_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_triggers (id) {
        id -> Text,
        name -> Text,
        project_id -> Text,
        scope -> Text,
        workflow_id -> Text,
        workflow_input -> Text,
        workflow_params -> Text,
        exchange -> Text,
        topic -> Text,
        event -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(cron_triggers, event_triggers, workflow_definitions);
