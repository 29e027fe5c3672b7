//! The record search (`domain::query`) in SQLite: one statement built from the filter's
//! parts, every value a bound parameter (nothing typed by a user reaches the SQL text);
//! keyset paging on the sort column and the id, so a deep page costs what the first does.

use super::{corrupt, from_sql_int};
use crate::domain::access::Visibility;
use crate::domain::query::{PageAfter, RecordFilter, RecordPage, SortKey};
use crate::storage::Result;
use gridwork_core::model::Record;
use rusqlite::Connection;
use rusqlite::types::Value;
use uuid::Uuid;

/// The WHERE clause of the visibility and the filter, its values pushed onto `args`.
pub(crate) fn where_clause(visibility: &Visibility, filter: &RecordFilter, args: &mut Vec<Value>) -> String {
    clause_of(visibility, filter, args, true)
}

/// The WHERE clause of a sorted page: kind and stage do not pick the index (`+kind`), so a
/// page walks its sort index and stops at the limit instead of sorting every record of a
/// common kind; counts (no order) use `records_status_kind`.
fn page_clause(visibility: &Visibility, filter: &RecordFilter, args: &mut Vec<Value>) -> String {
    clause_of(visibility, filter, args, false)
}

fn clause_of(visibility: &Visibility, filter: &RecordFilter, args: &mut Vec<Value>, kind_status_index: bool) -> String {
    let unindexed = if kind_status_index { "" } else { "+" };
    let mut parts: Vec<String> = Vec::new();
    let arg = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("?{}", args.len())
    };
    match visibility {
        Visibility::All => {}
        Visibility::District(d) => parts.push(format!("district = {}", arg(d.clone().into(), args))),
        Visibility::Community(c) => parts.push(format!("community = {}", arg(c.clone().into(), args))),
        Visibility::Grid(g) => parts.push(format!("grid = {}", arg(g.clone().into(), args))),
        Visibility::Officer { district, .. } => {
            let d = arg(district.clone().into(), args);
            let keys = visibility.assignments();
            let a = arg(keys[0].clone().into(), args);
            let b = arg(keys[1].clone().into(), args);
            parts.push(format!("(district = {d} OR assignee IN ({a}, {b}))"));
        }
    }
    if !filter.kinds.is_empty() {
        let list: Vec<String> = filter.kinds.iter().map(|k| arg(k.as_str().to_owned().into(), args)).collect();
        parts.push(format!("{unindexed}kind IN ({})", list.join(", ")));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter.statuses.iter().map(|s| arg(s.as_str().to_owned().into(), args)).collect();
        parts.push(format!("{unindexed}status IN ({})", list.join(", ")));
    }
    if let Some(code) = filter.category.as_deref().filter(|c| !c.is_empty()) {
        let escaped = code.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        parts.push(format!("category LIKE {} ESCAPE '\\'", arg(format!("{escaped}%").into(), args)));
    }
    if let Some(org) = &filter.org {
        parts.push(format!("{} IN (district, street, community, grid)", arg(org.clone().into(), args)));
    }
    if let Some(from) = filter.from {
        parts.push(format!("created_at >= {}", arg(super::ts(from).into(), args)));
    }
    if let Some(to) = filter.to {
        parts.push(format!("created_at < {}", arg(super::ts(to).into(), args)));
    }
    if let Some(overdue) = filter.overdue {
        parts.push(format!("overdue = {}", arg(i64::from(overdue).into(), args)));
    }
    if let Some(assignee) = &filter.assignee {
        parts.push(format!("assignee = {}", arg(assignee.clone().into(), args)));
    }
    if let Some(author) = &filter.author {
        parts.push(format!("author = {}", arg(author.clone().into(), args)));
    }
    if let Some(text) = filter.text.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        parts.push(format!("instr(search_text, {}) > 0", arg(text.into(), args)));
    }
    if let Some(b) = filter.bbox {
        // The place is in the document (a viewport narrows what other filters chose, or
        // scans once: the map's points are capped, the table pages).
        let (s, n) = (arg(b.south.into(), args), arg(b.north.into(), args));
        let (w, e) = (arg(b.west.into(), args), arg(b.east.into(), args));
        parts.push(format!(
            "json_extract(doc, '$.location.lat') BETWEEN {s} AND {n} AND json_extract(doc, '$.location.lon') BETWEEN {w} AND {e}"
        ));
    }
    if parts.is_empty() { "1".to_owned() } else { parts.join(" AND ") }
}

/// The sort column's expression and whether it descends.
fn order(sort: SortKey) -> (&'static str, bool) {
    match sort {
        SortKey::NewestFirst => ("created_at", true),
        SortKey::OldestFirst => ("created_at", false),
        SortKey::UpdatedFirst => ("updated_at", true),
        // Overdue cases first (by their own deadline: the watched one, `due_at`, is cleared
        // once the server marked them), then the running ones nearest to due, then records
        // without a deadline ('~' is above any digit).
        SortKey::DueFirst => (
            "(CASE WHEN overdue THEN '0' || coalesce(json_extract(doc, '$.body.case.due_at'), '') \
              ELSE '1' || coalesce(due_at, '~') END)",
            false,
        ),
    }
}

pub(crate) fn search(
    conn: &Connection,
    visibility: &Visibility,
    filter: &RecordFilter,
    sort: SortKey,
    after: Option<&PageAfter>,
    limit: u32,
) -> Result<RecordPage> {
    let mut args = Vec::new();
    let mut clause = page_clause(visibility, filter, &mut args);
    let (col, desc) = order(sort);
    if let Some(after) = after {
        args.push(after.key.clone().into());
        let k = args.len();
        args.push(after.id.to_string().into());
        let i = args.len();
        let cmp = if desc { "<" } else { ">" };
        clause = format!("{clause} AND ({col} {cmp} ?{k} OR ({col} = ?{k} AND id {cmp} ?{i}))");
    }
    let dir = if desc { "DESC" } else { "ASC" };
    let sql =
        format!("SELECT seq, doc, id, {col} FROM records WHERE {clause} ORDER BY {col} {dir}, id {dir} LIMIT {}", limit + 1);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows: Vec<(i64, String, String, Option<String>)> = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let more = rows.len() > limit as usize;
    let mut records = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last: Option<(String, String)> = None;
    for (seq, doc, id, key) in rows.into_iter().take(limit as usize) {
        let mut rec: Record = serde_json::from_str(&doc).map_err(|_| corrupt("records.doc"))?;
        rec.seq = Some(from_sql_int(seq, "records.seq")?);
        records.push(rec);
        last = Some((key.unwrap_or_default(), id));
    }
    let next = match (more, last) {
        (true, Some((key, id))) => Some(PageAfter { key, id: Uuid::parse_str(&id).map_err(|_| corrupt("records.id"))? }),
        _ => None,
    };
    Ok(RecordPage { records, next })
}

pub(crate) fn count(conn: &Connection, visibility: &Visibility, filter: &RecordFilter) -> Result<u64> {
    let mut args = Vec::new();
    let clause = where_clause(visibility, filter, &mut args);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM records WHERE {clause}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    from_sql_int(n, "count")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    /// The table's usual pages walk an index in order: no sort of the whole selection.
    #[tokio::test]
    async fn pages_walk_the_sort_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        s.with_writer(|conn| {
            for (sort, index) in [(SortKey::NewestFirst, "records_created"), (SortKey::UpdatedFirst, "records_updated")] {
                let kinds = RecordFilter {
                    kinds: vec![gridwork_core::model::RecordKind::Report],
                    statuses: vec![gridwork_core::model::Status::Submitted],
                    ..Default::default()
                };
                for filter in [RecordFilter::default(), RecordFilter { text: Some("垃圾".into()), ..Default::default() }, kinds]
                {
                    let mut args = Vec::new();
                    let clause = page_clause(&Visibility::All, &filter, &mut args);
                    let (col, _) = order(sort);
                    let sql = format!(
                        "EXPLAIN QUERY PLAN SELECT seq FROM records WHERE {clause} ORDER BY {col} DESC, id DESC LIMIT 51"
                    );
                    let plan: Vec<String> = conn
                        .prepare(&sql)
                        .expect("prepare")
                        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(3))
                        .expect("plan")
                        .collect::<rusqlite::Result<_>>()
                        .expect("rows");
                    let plan = plan.join(" | ");
                    assert!(plan.contains(index) && !plan.contains("TEMP B-TREE"), "{sort:?} {filter:?}: {plan}");
                }
            }
        })
        .await;
    }

    /// Counts of a kind and stage (the console's queue) read the index alone.
    #[tokio::test]
    async fn kind_and_stage_counts_use_their_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open(dir.path()).expect("open");
        s.with_writer(|conn| {
            let filter = RecordFilter {
                kinds: vec![gridwork_core::model::RecordKind::Case],
                statuses: vec![gridwork_core::model::Status::Registered],
                ..Default::default()
            };
            let mut args = Vec::new();
            let clause = where_clause(&Visibility::All, &filter, &mut args);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM records WHERE {clause}"))
                .expect("prepare")
                .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(3))
                .expect("plan")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert!(plan.join(" | ").contains("records_status_kind"), "{plan:?}");
        })
        .await;
    }
}
