//! The generic collection query used by every resource: filters (`eq/neq/gt/gte/lt/lte/in/nin/
//! has`, the `tags` special case), project visibility, sorting (nulls first ascending, as
//! upstream on SQLite) and keyset pagination after a marker row.

use chrono::NaiveDateTime;
use diesel::query_builder::BoxedSqlQuery;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};

use super::{Backend, DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Text,
    Timestamp,
    Bool,
    Int,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColKind,
}

/// A table as the list query sees it.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// Whether the table has `project_id`/`scope` (secure model).
    pub scoped: bool,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Shorthand for table descriptions.
pub const fn col(name: &'static str, kind: ColKind) -> Column {
    Column { name, kind }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Has,
}

impl Op {
    pub const ALL: [(&'static str, Op); 9] = [
        ("eq", Op::Eq),
        ("neq", Op::Neq),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("has", Op::Has),
        ("in", Op::In),
        ("nin", Op::Nin),
    ];

    pub fn as_str(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map(|(s, _)| *s)
            .unwrap_or("eq")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    One(String),
    Many(Vec<String>),
}

/// One `column=op:value` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub column: String,
    pub op: Op,
    pub value: FilterValue,
}

impl Filter {
    /// Parses a query value as upstream does: `op:value` when it starts with a known operator
    /// followed by `:`, else plain equality; `in`/`nin` split the value on commas.
    pub fn parse(column: &str, raw: &str) -> Filter {
        for (name, op) in Op::ALL {
            if let Some(rest) = raw.strip_prefix(name).and_then(|r| r.strip_prefix(':')) {
                let value = match op {
                    Op::In | Op::Nin => {
                        FilterValue::Many(rest.split(',').map(str::to_string).collect())
                    }
                    _ => FilterValue::One(rest.to_string()),
                };
                return Filter {
                    column: column.to_string(),
                    op,
                    value,
                };
            }
        }
        // Upstream checks startswith(("in", "nin")) on the whole value; only reachable with an
        // operator prefix, handled above.
        Filter {
            column: column.to_string(),
            op: Op::Eq,
            value: FilterValue::One(raw.to_string()),
        }
    }

    pub fn eq(column: &str, value: &str) -> Filter {
        Filter {
            column: column.into(),
            op: Op::Eq,
            value: FilterValue::One(value.into()),
        }
    }

    /// How the filter appears in a `next` link: `name=eq:x`, `name=in:['a', 'b']`.
    pub fn render(&self) -> String {
        let v = match &self.value {
            FilterValue::One(s) => s.clone(),
            FilterValue::Many(items) => crate::api::pyrepr::py_str_list(items),
        };
        format!("{}={}:{}", self.column, self.op.as_str(), v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

/// A complete list request against one table.
#[derive(Debug, Clone, Default)]
pub struct ListSpec {
    pub filters: Vec<Filter>,
    /// `tags=a,b`: rows whose tags contain every one of these (substring match on the stored
    /// JSON text, as upstream's `contains`).
    pub tags: Option<Vec<String>>,
    /// Columns that must be NULL (`nulls=a,b` of the executions list).
    pub nulls: Vec<String>,
    pub sort: Vec<(String, SortDir)>,
    pub limit: Option<i64>,
    /// Keyset pagination: rows strictly after this row id in the sort order.
    pub marker_id: Option<String>,
    /// `Some(project)`: only that project's rows plus public ones; `None`: all rows.
    pub visibility: Option<String>,
}

#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Ts(NaiveDateTime),
    Bool(bool),
    Int(i64),
}

struct Sql {
    text: String,
    binds: Vec<Bind>,
    pg: bool,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn bind(&mut self, b: Bind) {
        self.binds.push(b);
        if self.pg {
            self.text.push_str(&format!("${}", self.binds.len()));
        } else {
            self.text.push('?');
        }
    }
}

/// Parses a timestamp filter value: `2024-05-01 10:00:00`, ISO `T` form, optional fraction,
/// or a bare date.
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    let s2 = s.trim_end_matches('Z');
    if let Ok(t) = NaiveDateTime::parse_from_str(s2, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

fn typed(col: &Column, v: &str) -> Result<Bind, DbError> {
    match col.kind {
        ColKind::Text => Ok(Bind::Text(v.to_string())),
        ColKind::Timestamp => parse_timestamp(v)
            .map(Bind::Ts)
            .ok_or_else(|| DbError::Invalid(format!("Invalid value for filter {}: {v}", col.name))),
        ColKind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Ok(Bind::Bool(true)),
            "false" | "0" | "no" | "off" | "f" | "n" => Ok(Bind::Bool(false)),
            _ => Err(DbError::Invalid(format!(
                "Invalid value for filter {}: {v}",
                col.name
            ))),
        },
        ColKind::Int => {
            v.trim().parse::<i64>().map(Bind::Int).map_err(|_| {
                DbError::Invalid(format!("Invalid value for filter {}: {v}", col.name))
            })
        }
    }
}

fn filter_sql(sql: &mut Sql, table: &Table, f: &Filter) -> Result<(), DbError> {
    let col = table
        .column(&f.column)
        .ok_or_else(|| DbError::Internal(format!("Unknown filter column: {}", f.column)))?;
    let name = col.name;
    match (&f.value, f.op) {
        (FilterValue::Many(items), Op::In | Op::Nin) => {
            if f.op == Op::Nin {
                sql.push("NOT ");
            }
            sql.push(&format!("{name} IN ("));
            if items.is_empty() {
                sql.push("NULL");
            }
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let b = typed(col, it)?;
                sql.bind(b);
            }
            sql.push(")");
        }
        (FilterValue::One(v), Op::Has) => {
            sql.push(&format!("CAST({name} AS TEXT) LIKE "));
            sql.bind(Bind::Text(format!("%{v}%")));
        }
        (FilterValue::One(v), op) => {
            let sym = match op {
                Op::Eq | Op::In => "=",
                Op::Neq | Op::Nin => "<>",
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                Op::Lte => "<=",
                Op::Has => unreachable!("handled above"),
            };
            sql.push(&format!("{name} {sym} "));
            let b = typed(col, v)?;
            sql.bind(b);
        }
        (FilterValue::Many(items), op) => {
            // A list with a scalar operator: compare with the first element.
            let v = items.first().cloned().unwrap_or_default();
            return filter_sql(
                sql,
                table,
                &Filter {
                    column: f.column.clone(),
                    op,
                    value: FilterValue::One(v),
                },
            );
        }
    }
    Ok(())
}

/// Runs a list query and returns the matching rows of `T` (a `QueryableByName` model of
/// `table`).
pub fn list<T>(conn: &mut DbConnection, table: &Table, spec: &ListSpec) -> Result<Vec<T>, DbError>
where
    T: QueryableByName<Backend> + 'static,
{
    list_select(conn, table, spec, "*")
}

/// [`list`] reading only `select` (a select list such as `id, name, NULL AS output`; it must
/// name every field of `T`). Keeps large columns a response does not show out of the query.
pub fn list_select<T>(
    conn: &mut DbConnection,
    table: &Table,
    spec: &ListSpec,
    select: &str,
) -> Result<Vec<T>, DbError>
where
    T: QueryableByName<Backend> + 'static,
{
    let mut sql = Sql {
        text: format!("SELECT {select} FROM {}", table.name),
        binds: vec![],
        pg: conn.is_postgres(),
    };
    let mut conds = 0;
    let mut and = |sql: &mut Sql| {
        sql.push(if conds == 0 { " WHERE " } else { " AND " });
        conds += 1;
    };
    if let (Some(project), true) = (&spec.visibility, table.scoped) {
        and(&mut sql);
        sql.push("(project_id = ");
        sql.bind(Bind::Text(project.clone()));
        sql.push(" OR scope = 'public')");
    }
    for f in &spec.filters {
        and(&mut sql);
        sql.push("(");
        filter_sql(&mut sql, table, f)?;
        sql.push(")");
    }
    for n in &spec.nulls {
        let col = table
            .column(n)
            .ok_or_else(|| DbError::Internal(format!("Unknown filter column: {n}")))?;
        and(&mut sql);
        sql.push(&format!("{} IS NULL", col.name));
    }
    if let Some(tags) = &spec.tags {
        for t in tags {
            and(&mut sql);
            sql.push("tags LIKE ");
            sql.bind(Bind::Text(format!("%{t}%")));
        }
    }
    for (key, _) in &spec.sort {
        if table.column(key).is_none() {
            // Upstream answers 500 here; a bad query value is a client error (400).
            return Err(DbError::Invalid(format!(
                "Sort key supplied is invalid: {key}"
            )));
        }
    }
    if let Some(marker) = &spec.marker_id {
        // OR over i of (k_0 = m_0 AND … AND k_{i-1} = m_{i-1} AND k_i after m_i), NULL-aware.
        and(&mut sql);
        sql.push("(");
        for i in 0..spec.sort.len() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (k, _) in &spec.sort[..i] {
                let m = |sql: &mut Sql| {
                    sql.push(&format!("(SELECT {k} FROM {} WHERE id = ", table.name));
                    sql.bind(Bind::Text(marker.clone()));
                    sql.push(")");
                };
                sql.push(&format!("(({k} = "));
                m(&mut sql);
                sql.push(&format!(") OR ({k} IS NULL AND "));
                m(&mut sql);
                sql.push(" IS NULL)) AND ");
            }
            let (k, dir) = &spec.sort[i];
            let m = |sql: &mut Sql| {
                sql.push(&format!("(SELECT {k} FROM {} WHERE id = ", table.name));
                sql.bind(Bind::Text(marker.clone()));
                sql.push(")");
            };
            match dir {
                SortDir::Asc => {
                    sql.push(&format!("(({k} > "));
                    m(&mut sql);
                    sql.push(&format!(") OR ({k} IS NOT NULL AND "));
                    m(&mut sql);
                    sql.push(" IS NULL))");
                }
                SortDir::Desc => {
                    sql.push(&format!("(({k} < "));
                    m(&mut sql);
                    sql.push(&format!(") OR ({k} IS NULL AND "));
                    m(&mut sql);
                    sql.push(" IS NOT NULL))");
                }
            }
            sql.push(")");
        }
        if spec.sort.is_empty() {
            sql.push("1 = 1");
        }
        sql.push(")");
    }
    if !spec.sort.is_empty() {
        sql.push(" ORDER BY ");
        for (i, (k, d)) in spec.sort.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!(
                "{k} {}",
                match d {
                    SortDir::Asc => "ASC NULLS FIRST",
                    SortDir::Desc => "DESC NULLS LAST",
                }
            ));
        }
    }
    if let Some(limit) = spec.limit {
        sql.push(&format!(" LIMIT {}", limit.max(0)));
    }
    run(conn, sql)
}

fn run<T>(conn: &mut DbConnection, sql: Sql) -> Result<Vec<T>, DbError>
where
    T: QueryableByName<Backend> + 'static,
{
    let mut q: BoxedSqlQuery<'static, Backend, SqlQuery> = diesel::sql_query(sql.text).into_boxed();
    for b in sql.binds {
        q = match b {
            Bind::Text(s) => q.bind::<Text, _>(s),
            Bind::Ts(t) => q.bind::<Timestamp, _>(t),
            Bind::Bool(v) => q.bind::<Bool, _>(v),
            Bind::Int(v) => q.bind::<BigInt, _>(v),
        };
    }
    q.load::<T>(conn).map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_parse_operators_like_upstream() {
        assert_eq!(Filter::parse("name", "wf"), Filter::eq("name", "wf"));
        assert_eq!(
            Filter::parse("name", "in:a,b"),
            Filter {
                column: "name".into(),
                op: Op::In,
                value: FilterValue::Many(vec!["a".into(), "b".into()])
            }
        );
        assert_eq!(
            Filter::parse("name", "neq:x:y").value,
            FilterValue::One("x:y".into())
        );
        assert_eq!(Filter::parse("name", "has:").op, Op::Has);
        // Not an operator prefix: equality with the whole text.
        assert_eq!(
            Filter::parse("name", "input:x"),
            Filter::eq("name", "input:x")
        );
    }

    #[test]
    fn filters_render_with_operator_and_python_lists() {
        assert_eq!(Filter::parse("name", "wfa").render(), "name=eq:wfa");
        assert_eq!(Filter::parse("namespace", "").render(), "namespace=eq:");
        assert_eq!(
            Filter::parse("name", "in:wfa,wfb").render(),
            "name=in:['wfa', 'wfb']"
        );
        assert_eq!(
            Filter::parse("created_at", "gte:2024-05-01 10:00:00").render(),
            "created_at=gte:2024-05-01 10:00:00"
        );
    }

    #[test]
    fn timestamps_accept_response_iso_and_date_forms() {
        let t = parse_timestamp("2024-05-01 10:00:00").unwrap();
        assert_eq!(parse_timestamp("2024-05-01T10:00:00.000000").unwrap(), t);
        assert_eq!(
            parse_timestamp("2024-05-01").unwrap().to_string(),
            "2024-05-01 00:00:00"
        );
        assert!(parse_timestamp("yesterday").is_none());
    }
}

#[cfg(test)]
mod sql_tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::definitions::{
        create_environment, update_environment, EnvironmentChanges, NewEnvironment,
    };
    use crate::db::models::{EnvironmentRow, ENVIRONMENTS};
    use crate::db::{Caller, Db};

    fn db_with(names: &[&str]) -> Db {
        let db = Db::connect(&DatabaseUrl::Sqlite(":memory:".into()), 1).unwrap();
        db.run_migrations().unwrap();
        let caller = Caller {
            project_id: "p".into(),
            is_admin: false,
        };
        db.write_blocking(|c| {
            for n in names {
                let e = NewEnvironment {
                    name: n.to_string(),
                    description: None,
                    variables: None,
                    scope: "private".into(),
                };
                create_environment(c, &caller, &e)?;
            }
            Ok(())
        })
        .unwrap();
        db
    }

    fn names(rows: &[EnvironmentRow]) -> Vec<String> {
        rows.iter().map(|r| r.name.clone()).collect()
    }

    fn page(
        db: &Db,
        sort: &[(&str, SortDir)],
        limit: i64,
        marker: Option<String>,
    ) -> Vec<EnvironmentRow> {
        let spec = ListSpec {
            sort: sort.iter().map(|(k, d)| (k.to_string(), *d)).collect(),
            limit: Some(limit),
            marker_id: marker,
            ..Default::default()
        };
        db.read_blocking(|c| list::<EnvironmentRow>(c, &ENVIRONMENTS, &spec))
            .unwrap()
    }

    #[test]
    fn keyset_pagination_walks_every_row_once_even_over_nulls() {
        let db = db_with(&["a", "b", "c", "d", "e"]);
        // Give two rows an updated_at; the others stay NULL.
        db.write_blocking(|c| {
            update_environment(c, None, "b", &EnvironmentChanges::default())?;
            update_environment(c, None, "d", &EnvironmentChanges::default())?;
            Ok(())
        })
        .unwrap();
        for dir in [SortDir::Asc, SortDir::Desc] {
            let sort = [
                ("updated_at", dir),
                ("name", SortDir::Asc),
                ("id", SortDir::Asc),
            ];
            let mut seen = Vec::new();
            let mut marker = None;
            loop {
                let rows = page(&db, &sort, 2, marker.clone());
                if rows.is_empty() {
                    break;
                }
                marker = rows.last().map(|r| r.id.clone());
                seen.extend(names(&rows));
            }
            let expected = match dir {
                SortDir::Asc => ["a", "c", "e", "b", "d"],
                SortDir::Desc => ["b", "d", "a", "c", "e"],
            };
            assert_eq!(seen, expected, "{dir:?}");
        }
    }

    #[test]
    fn filters_and_visibility_compose() {
        let db = db_with(&["x1", "x2", "y1"]);
        let mut spec = ListSpec {
            filters: vec![
                Filter::parse("name", "has:x"),
                Filter::parse("name", "nin:x2"),
            ],
            sort: vec![("name".into(), SortDir::Asc)],
            visibility: Some("p".into()),
            ..Default::default()
        };
        let rows: Vec<EnvironmentRow> =
            db.read_blocking(|c| list(c, &ENVIRONMENTS, &spec)).unwrap();
        assert_eq!(names(&rows), ["x1"]);
        spec.visibility = Some("other-project".into());
        let rows: Vec<EnvironmentRow> =
            db.read_blocking(|c| list(c, &ENVIRONMENTS, &spec)).unwrap();
        assert!(rows.is_empty());
        spec.sort = vec![("bogus".into(), SortDir::Asc)];
        let err = db
            .read_blocking(|c| list::<EnvironmentRow>(c, &ENVIRONMENTS, &spec))
            .unwrap_err();
        assert_eq!(err.to_string(), "Sort key supplied is invalid: bogus");
    }
}
