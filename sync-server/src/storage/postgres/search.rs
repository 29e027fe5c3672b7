//! The record search (`domain::query`) in PostgreSQL: one statement built from fixed
//! fragments for the filter's parts, every value a bound parameter (nothing typed by a user
//! reaches the SQL text); keyset paging on the sort column and the id, so a deep page costs
//! what the first does. Lists (kinds, stages) are bound as arrays, so a statement's text
//! depends only on which filters are set, and the per-connection statement cache stays small.

use super::records::record_of;
use super::{corrupt, from_sql_int, ts};
use crate::domain::access::Visibility;
use crate::domain::query::{PageAfter, RecordFilter, RecordPage, SortKey};
use crate::storage::Result;
use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// A bound value.
enum Arg {
    Text(String),
    Texts(Vec<String>),
    Bool(bool),
    Float(f64),
    Int(i64),
}

impl Arg {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(v) => v,
            Arg::Texts(v) => v,
            Arg::Bool(v) => v,
            Arg::Float(v) => v,
            Arg::Int(v) => v,
        }
    }
}

/// Push `v` onto `args`; its placeholder.
fn arg(v: Arg, args: &mut Vec<Arg>) -> String {
    args.push(v);
    format!("${}", args.len())
}

/// The WHERE clause of the visibility and the filter, its values pushed onto `args`.
fn where_clause(visibility: &Visibility, filter: &RecordFilter, args: &mut Vec<Arg>) -> String {
    let mut parts: Vec<String> = Vec::new();
    match visibility {
        Visibility::All => {}
        Visibility::District(d) => parts.push(format!("district = {}", arg(Arg::Text(d.clone()), args))),
        Visibility::Community(c) => parts.push(format!("community = {}", arg(Arg::Text(c.clone()), args))),
        Visibility::Grid(g) => parts.push(format!("grid = {}", arg(Arg::Text(g.clone()), args))),
        Visibility::Officer { district, .. } => {
            let d = arg(Arg::Text(district.clone()), args);
            let keys = arg(Arg::Texts(visibility.assignments()), args);
            parts.push(format!("(district = {d} OR assignee = ANY({keys}))"));
        }
    }
    if !filter.kinds.is_empty() {
        let list = filter.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        parts.push(format!("kind = ANY({})", arg(Arg::Texts(list), args)));
    }
    if !filter.statuses.is_empty() {
        let list = filter.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        parts.push(format!("status = ANY({})", arg(Arg::Texts(list), args)));
    }
    if let Some(code) = filter.category.as_deref().filter(|c| !c.is_empty()) {
        let escaped = code.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        parts.push(format!("category LIKE {} ESCAPE '\\'", arg(Arg::Text(format!("{escaped}%")), args)));
    }
    if let Some(org) = &filter.org {
        parts.push(format!("{}::text IN (district, street, community, grid)", arg(Arg::Text(org.clone()), args)));
    }
    if let Some(from) = filter.from {
        parts.push(format!("created_at >= {}", arg(Arg::Text(ts(from)), args)));
    }
    if let Some(to) = filter.to {
        parts.push(format!("created_at < {}", arg(Arg::Text(ts(to)), args)));
    }
    if let Some(overdue) = filter.overdue {
        parts.push(format!("overdue = {}", arg(Arg::Bool(overdue), args)));
    }
    if let Some(assignee) = &filter.assignee {
        parts.push(format!("assignee = {}", arg(Arg::Text(assignee.clone()), args)));
    }
    if let Some(author) = &filter.author {
        parts.push(format!("author = {}", arg(Arg::Text(author.clone()), args)));
    }
    if let Some(text) = filter.text.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        parts.push(format!("strpos(search_text, {}) > 0", arg(Arg::Text(text), args)));
    }
    if let Some(b) = filter.bbox {
        // The place is in the document (a viewport narrows what other filters chose, or
        // scans once: the map's points are capped, the table pages).
        let (s, n) = (arg(Arg::Float(b.south), args), arg(Arg::Float(b.north), args));
        let (w, e) = (arg(Arg::Float(b.west), args), arg(Arg::Float(b.east), args));
        parts.push(format!(
            "(doc::jsonb #>> '{{location,lat}}')::double precision BETWEEN {s} AND {n} \
             AND (doc::jsonb #>> '{{location,lon}}')::double precision BETWEEN {w} AND {e}"
        ));
    }
    if parts.is_empty() { "true".to_owned() } else { parts.join(" AND ") }
}

/// The sort column's expression and whether it descends.
fn order(sort: SortKey) -> (&'static str, bool) {
    match sort {
        SortKey::NewestFirst => ("created_at", true),
        SortKey::OldestFirst => ("created_at", false),
        SortKey::UpdatedFirst => ("updated_at", true),
        // Overdue cases first (by their own deadline: the watched one, `due_at`, is cleared
        // once the server marked them), then the running ones nearest to due, then records
        // without a deadline ('~' is above any digit; compared in the "C" collation).
        SortKey::DueFirst => (
            "((CASE WHEN overdue THEN '0' || coalesce(doc::jsonb #>> '{body,case,due_at}', '') \
              ELSE '1' || coalesce(due_at, '~') END) COLLATE \"C\")",
            false,
        ),
    }
}

pub(crate) async fn search(
    c: &ClientWrapper,
    visibility: &Visibility,
    filter: &RecordFilter,
    sort: SortKey,
    after: Option<&PageAfter>,
    limit: u32,
) -> Result<RecordPage> {
    let mut args = Vec::new();
    let mut clause = where_clause(visibility, filter, &mut args);
    let (col, desc) = order(sort);
    if let Some(after) = after {
        let k = arg(Arg::Text(after.key.clone()), &mut args);
        let i = arg(Arg::Text(after.id.to_string()), &mut args);
        let cmp = if desc { "<" } else { ">" };
        clause = format!("{clause} AND ({col} {cmp} {k} OR ({col} = {k} AND id {cmp} {i}))");
    }
    let dir = if desc { "DESC" } else { "ASC" };
    let take = arg(Arg::Int(i64::from(limit) + 1), &mut args);
    let sql = format!("SELECT seq, doc, id, {col} FROM records WHERE {clause} ORDER BY {col} {dir}, id {dir} LIMIT {take}");
    let stmt = c.prepare_cached(&sql).await?;
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::sql).collect();
    let rows = c.query(&stmt, &params).await?;
    let more = rows.len() > limit as usize;
    let mut records = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last: Option<(String, &str)> = None;
    for r in rows.iter().take(limit as usize) {
        records.push(record_of(r.try_get(0)?, r.try_get(1)?)?);
        last = Some((r.try_get::<_, Option<String>>(3)?.unwrap_or_default(), r.try_get(2)?));
    }
    let next = match (more, last) {
        (true, Some((key, id))) => Some(PageAfter { key, id: Uuid::parse_str(id).map_err(|_| corrupt("records.id"))? }),
        _ => None,
    };
    Ok(RecordPage { records, next })
}

pub(crate) async fn count(c: &ClientWrapper, visibility: &Visibility, filter: &RecordFilter) -> Result<u64> {
    let mut args = Vec::new();
    let clause = where_clause(visibility, filter, &mut args);
    let stmt = c.prepare_cached(&format!("SELECT COUNT(*) FROM records WHERE {clause}")).await?;
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(Arg::sql).collect();
    let n: i64 = c.query_one(&stmt, &params).await?.try_get(0)?;
    from_sql_int(n, "count")
}
