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
