//! Exports of a filtered selection of records (the filter the console's table uses,
//! [`RecordFilter`]) as CSV for Chinese Excel, `.xlsx`, or a GeoJSON FeatureCollection, for
//! any signed-in user within their scope. Streamed: the rows are read a page at a time
//! (keyset paging) and written out as they come, through a bounded channel, so memory does
//! not grow with the row count (xlsx rows go to the writer's temporary file and the zip is
//! streamed at the end).
//!
//! Personal data (a notice's party: name, shop, phone) is exported only when asked for, only
//! to admins and officers, and every such export is written to the audit trail first, with the filter (never its free
//! text), the format and the row count.

use crate::domain::DomainError;
use crate::domain::access::{Caller, Visibility};
use crate::domain::clock::ServerClock;
use crate::domain::query::{MAX_PAGE, PageAfter, RecordFilter, SortKey};
use crate::service::audit::AuditService;
use crate::service::reference::ReferenceService;
use crate::storage::RecordStore;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::BoxStream;
use gridwork_core::cases::Assignee;
use gridwork_core::model::{Record, RecordBody, RecordKind, Role};
use gridwork_core::reference::RefIndex;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks in flight between the writer and the connection.
const CHANNEL_CHUNKS: usize = 8;
/// Bytes gathered before a chunk is sent.
const CHUNK_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    GeoJson,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::GeoJson => "geojson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::GeoJson => "application/geo+json",
        }
    }
}

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub filter: RecordFilter,
    pub sort: SortKey,
    /// Include the personal-data columns (audited).
    pub personal: bool,
    pub format: ExportFormat,
}

/// An export under way: its size and the bytes as they come.
pub struct Export {
    pub rows: u64,
    pub format: ExportFormat,
    pub filename: String,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Bool(bool),
    Empty,
}

/// A column: its Chinese header (CSV, xlsx), its key (GeoJSON properties), whether it is
/// personal data, and its value.
pub struct Column {
    pub header: &'static str,
    pub key: &'static str,
    pub personal: bool,
    pub value: fn(&Record, &RefIndex) -> Cell,
}

fn text(s: impl Into<String>) -> Cell {
    let s = s.into();
    if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
}

fn opt(s: Option<impl Into<String>>) -> Cell {
    s.map(text).unwrap_or(Cell::Empty)
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&gridwork_core::worktime::china()).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn org_name(refs: &RefIndex, code: &str) -> Cell {
    opt(refs.org(code).map(|o| o.name.clone()))
}

fn category(r: &Record) -> &str {
    match &r.body {
        RecordBody::Report(b) => &b.category,
        RecordBody::Notice(b) => &b.category,
        RecordBody::Case(b) => &b.category,
        RecordBody::ServiceLog(_) => "",
    }
}

fn party(r: &Record) -> Option<&gridwork_core::model::Party> {
    match &r.body {
        RecordBody::Notice(n) => Some(&n.party),
        _ => None,
    }
}

/// The columns, in order. Personal ones only with the option.
pub static COLUMNS: &[Column] = &[
    Column { header: "记录编号", key: "id", personal: false, value: |r, _| text(r.id.to_string()) },
    Column { header: "类型", key: "kind", personal: false, value: |r, _| text(r.kind().label_zh()) },
    Column { header: "类型代码", key: "kind_code", personal: false, value: |r, _| text(r.kind().as_str()) },
    Column { header: "状态", key: "status", personal: false, value: |r, _| text(r.status.label_zh()) },
    Column { header: "状态代码", key: "status_code", personal: false, value: |r, _| text(r.status.as_str()) },
    Column {
        header: "文书编号",
        key: "number",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Notice(n) => text(n.number.clone()),
            RecordBody::Case(c) => opt(c.number.clone()),
            _ => Cell::Empty,
        },
    },
    Column { header: "分类代码", key: "category", personal: false, value: |r, _| text(category(r)) },
    Column {
        header: "分类名称",
        key: "category_name",
        personal: false,
        value: |r, refs| {
            let code = category(r);
            opt(refs.category(code).map(|c| c.name.clone()).or_else(|| {
                gridwork_core::reference::NOTICE_EXTRA_CATEGORIES.iter().find(|(c, _)| *c == code).map(|(_, n)| (*n).to_owned())
            }))
        },
    },
    Column {
        header: "区",
        key: "district",
        personal: false,
        value: |r, refs| refs.grid_place(&r.org.grid).map_or(Cell::Empty, |p| org_name(refs, &p.district)),
    },
    Column {
        header: "街道",
        key: "street",
        personal: false,
        value: |r, refs| refs.grid_place(&r.org.grid).map_or(Cell::Empty, |p| org_name(refs, &p.street)),
    },
    Column { header: "社区", key: "community", personal: false, value: |r, refs| org_name(refs, &r.org.community) },
    Column { header: "网格", key: "grid_name", personal: false, value: |r, refs| org_name(refs, &r.org.grid) },
    Column { header: "网格代码", key: "grid", personal: false, value: |r, _| text(r.org.grid.clone()) },
    Column { header: "地址", key: "address", personal: false, value: |r, _| opt(r.location.address.clone()) },
    Column { header: "纬度", key: "lat", personal: false, value: |r, _| Cell::Number(r.location.lat) },
    Column { header: "经度", key: "lon", personal: false, value: |r, _| Cell::Number(r.location.lon) },
    Column {
        header: "内容",
        key: "text",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Report(b) => text(b.description.clone()),
            RecordBody::Notice(b) => text(b.facts.clone()),
            RecordBody::ServiceLog(b) => text(b.summary.clone()),
            RecordBody::Case(b) => text(b.description.clone()),
        },
    },
    Column {
        header: "填报人",
        key: "author",
        personal: false,
        value: |r, refs| opt(refs.user(&r.author).map(|u| u.display_name.clone())),
    },
    Column { header: "填报时间", key: "created_at", personal: false, value: |r, _| text(local(r.created_at)) },
    Column { header: "更新时间", key: "updated_at", personal: false, value: |r, _| text(local(r.updated_at)) },
    Column {
        header: "整改期限",
        key: "deadline",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Notice(n) => text(n.deadline.to_string()),
            _ => Cell::Empty,
        },
    },
    Column {
        header: "承办单位",
        key: "assignee",
        personal: false,
        value: |r, refs| match &r.body {
            RecordBody::Case(c) => match &c.assignee {
                Some(Assignee::Unit { code }) => org_name(refs, code),
                Some(Assignee::Officer { user_id }) => opt(refs.user(user_id).map(|u| u.display_name.clone())),
                None => Cell::Empty,
            },
            _ => Cell::Empty,
        },
    },
    Column {
        header: "处置期限",
        key: "due_at",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Case(c) => opt(c.due_at.map(local)),
            _ => Cell::Empty,
        },
    },
    Column {
        header: "是否超期",
        key: "overdue",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Case(c) => Cell::Bool(c.overdue),
            RecordBody::Notice(_) => Cell::Bool(r.status == gridwork_core::model::Status::Overdue),
            _ => Cell::Empty,
        },
    },
    Column {
        header: "答复",
        key: "reply",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::Case(c) => opt(c.reply.clone()),
            _ => Cell::Empty,
        },
    },
    Column {
        header: "服务类型",
        key: "activity",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::ServiceLog(l) => text(l.activity.label_zh()),
            _ => Cell::Empty,
        },
    },
    Column {
        header: "参与人数",
        key: "participants",
        personal: false,
        value: |r, _| match &r.body {
            RecordBody::ServiceLog(l) => Cell::Number(f64::from(l.participants)),
            _ => Cell::Empty,
        },
    },
    Column { header: "照片数", key: "photos", personal: false, value: |r, _| Cell::Number(r.body.photos().len() as f64) },
    Column { header: "当事人", key: "party_name", personal: true, value: |r, _| opt(party(r).map(|p| p.name.clone())) },
    Column {
        header: "店铺名称",
        key: "shop_name",
        personal: true,
        value: |r, _| opt(party(r).and_then(|p| p.shop_name.clone())),
    },
    Column {
        header: "联系电话", key: "party_phone", personal: true, value: |r, _| opt(party(r).and_then(|p| p.phone.clone()))
    },
];

/// The columns an export has.
pub fn columns(personal: bool) -> Vec<&'static Column> {
    COLUMNS.iter().filter(|c| personal || !c.personal).collect()
}

/// A text cell as CSV and spreadsheets should see it: one that a spreadsheet would take
/// for a formula (`=`, `+`, `-`, `@`, or a tab or carriage return first) gets a leading `'`.
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}").into() } else { s.into() }
}

fn csv_field(out: &mut Vec<u8>, cell: &Cell) {
    let s = match cell {
        Cell::Text(s) => neutralise(s).into_owned(),
        Cell::Number(n) => n.to_string(),
        Cell::Bool(b) => (if *b { "是" } else { "否" }).to_owned(),
        Cell::Empty => String::new(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// A writer into the response: bytes gathered into chunks sent over a bounded channel
/// (the writer waits while the connection is behind; it fails once the client is gone).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub struct ExportService {
    records: Arc<dyn RecordStore>,
    reference: Arc<ReferenceService>,
    audit: Arc<AuditService>,
    clock: Arc<ServerClock>,
}

/// The audit trail's summary of a filter: codes and ids, never the free text.
fn filter_summary(f: &RecordFilter) -> serde_json::Value {
    serde_json::json!({
        "kinds": f.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "statuses": f.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "category": f.category,
        "org": f.org,
        "from": f.from.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "to": f.to.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "overdue": f.overdue,
        "assignee": f.assignee,
        "author": f.author,
        "text": f.text.is_some(),
    })
}

impl ExportService {
    pub fn new(
        records: Arc<dyn RecordStore>,
        reference: Arc<ReferenceService>,
        audit: Arc<AuditService>,
        clock: Arc<ServerClock>,
    ) -> Self {
        ExportService { records, reference, audit, clock }
    }

    /// Start exporting what `caller` may see of `req.filter`.
    pub async fn export(&self, caller: &Caller, req: ExportRequest) -> Result<Export, DomainError> {
        // Personal data goes to those who work with the parties: admins and officers (who
        // issue the notices). A grid worker's export never has it.
        if req.personal && !matches!(caller.role, Role::Admin | Role::Officer) {
            return Err(DomainError::Forbidden);
        }
        let refs = self.reference.current().await?;
        let visibility = caller.visibility(&refs.index);
        let rows = self.records.count(&visibility, &req.filter).await?;
        if req.personal {
            let detail = serde_json::json!({
                "format": req.format.as_str(),
                "rows": rows,
                "filter": filter_summary(&req.filter),
            });
            self.audit.record(&caller.user_id, "export_personal", None, detail).await?;
            tracing::info!(user = %caller.user_id, rows, "export with personal data");
        }
        let date = gridwork_core::worktime::local_date(self.clock.now()).format("%Y%m%d");
        let filename = format!("gridwork-records-{date}.{}", req.format.as_str());
        let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
        let job = Job { records: self.records.clone(), refs: refs.clone(), visibility, req: req.clone() };
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let errors = tx.clone();
            let writer = ChannelWriter { tx, buf: Vec::with_capacity(CHUNK_BYTES) };
            if let Err(e) = job.run(&handle, writer) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    tracing::error!(error = %e, "export failed");
                }
                // The body ends with an error: the client sees a broken download, never a short file.
                let _ = errors.blocking_send(Err(e));
            }
        });
        // `poll_recv` may be polled again after the end (a compression layer does): it keeps
        // answering `None`, where an `unfold` stream would panic.
        let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Export { rows, format: req.format, filename, body: Box::pin(body) })
    }
}

struct Job {
    records: Arc<dyn RecordStore>,
    refs: Arc<crate::domain::reference::RefCache>,
    visibility: Visibility,
    req: ExportRequest,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Job {
    /// Each page of the selection in turn, on this blocking thread.
    fn pages(
        &self,
        handle: &tokio::runtime::Handle,
        mut each: impl FnMut(&[Record]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut after: Option<PageAfter> = None;
        loop {
            let page = handle
                .block_on(self.records.search(&self.visibility, &self.req.filter, self.req.sort, after.as_ref(), MAX_PAGE))
                .map_err(io_err)?;
            each(&page.records)?;
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    fn run(&self, handle: &tokio::runtime::Handle, mut out: ChannelWriter) -> std::io::Result<()> {
        let cols = columns(self.req.personal);
        let refs = &self.refs.index;
        match self.req.format {
            ExportFormat::Csv => {
                // A BOM, or Chinese Excel reads UTF-8 as GBK.
                out.write_all("\u{feff}".as_bytes())?;
                let mut line = Vec::new();
                for (i, c) in cols.iter().enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    csv_field(&mut line, &Cell::Text(c.header.into()));
                }
                line.extend_from_slice(b"\r\n");
                out.write_all(&line)?;
                self.pages(handle, |recs| {
                    for r in recs {
                        line.clear();
                        for (i, c) in cols.iter().enumerate() {
                            if i > 0 {
                                line.push(b',');
                            }
                            csv_field(&mut line, &(c.value)(r, refs));
                        }
                        line.extend_from_slice(b"\r\n");
                        out.write_all(&line)?;
                    }
                    Ok(())
                })?;
            }
            ExportFormat::GeoJson => {
                out.write_all(br#"{"type":"FeatureCollection","features":["#)?;
                let mut first = true;
                self.pages(handle, |recs| {
                    for r in recs {
                        let mut props = serde_json::Map::new();
                        for c in &cols {
                            let v = match (c.value)(r, refs) {
                                Cell::Text(s) => serde_json::Value::String(s),
                                Cell::Number(n) => serde_json::json!(n),
                                Cell::Bool(b) => serde_json::Value::Bool(b),
                                Cell::Empty => serde_json::Value::Null,
                            };
                            props.insert(c.key.to_owned(), v);
                        }
                        // Times as instants for GIS tools, beside the local text.
                        props.insert("created_at".into(), crate::service::open311::w3c(r.created_at).into());
                        props.insert("updated_at".into(), crate::service::open311::w3c(r.updated_at).into());
                        let feature = serde_json::json!({
                            "type": "Feature",
                            "id": r.id.to_string(),
                            // RFC 7946: WGS-84, longitude first.
                            "geometry": {"type": "Point", "coordinates": [r.location.lon, r.location.lat]},
                            "properties": props,
                        });
                        if !first {
                            out.write_all(b",")?;
                        }
                        first = false;
                        serde_json::to_writer(&mut out, &feature).map_err(io_err)?;
                    }
                    Ok(())
                })?;
                out.write_all(b"]}")?;
            }
            ExportFormat::Xlsx => {
                use rust_xlsxwriter::{Format, Workbook};
                let mut book = Workbook::new();
                let bold = Format::new().set_bold();
                let sheet = book.add_worksheet_with_constant_memory().map_err(io_err)?;
                sheet.set_name("记录").map_err(io_err)?;
                for (i, c) in cols.iter().enumerate() {
                    let col = u16::try_from(i).map_err(io_err)?;
                    sheet.write_string_with_format(0, col, c.header, &bold).map_err(io_err)?;
                }
                sheet.set_freeze_panes(1, 0).map_err(io_err)?;
                let mut row: u32 = 0;
                self.pages(handle, |recs| {
                    for r in recs {
                        row += 1;
                        for (i, c) in cols.iter().enumerate() {
                            let col = u16::try_from(i).map_err(io_err)?;
                            // Text is written as text: a cell never becomes a formula.
                            match (c.value)(r, refs) {
                                Cell::Text(s) => sheet.write_string(row, col, s).map(|_| ()),
                                Cell::Number(n) => sheet.write_number(row, col, n).map(|_| ()),
                                Cell::Bool(b) => sheet.write_string(row, col, if b { "是" } else { "否" }).map(|_| ()),
                                Cell::Empty => Ok(()),
                            }
                            .map_err(io_err)?;
                        }
                    }
                    Ok(())
                })?;
                book.save_to_writer(&mut out).map_err(io_err)?;
            }
        }
        out.flush()
    }
}

/// A date or instant of an export query: `YYYY-MM-DD` (China time, the day's start) or RFC 3339.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().map(gridwork_core::worktime::start_of_day)
}

/// Kinds that an export may name (all of them).
pub fn parse_kind(s: &str) -> Option<RecordKind> {
    RecordKind::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_is_neutralised() {
        for (input, want) in [("=1+1", "'=1+1"), ("+86", "'+86"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx")] {
            assert_eq!(neutralise(input), want);
        }
        assert_eq!(neutralise("早市占道"), "早市占道");
        let mut out = Vec::new();
        csv_field(&mut out, &Cell::Text("a,\"b\"\nc".into()));
        assert_eq!(String::from_utf8(out).expect("utf8"), "\"a,\"\"b\"\"\nc\"");
    }

    #[test]
    fn personal_columns_only_on_request() {
        assert!(columns(false).iter().all(|c| !c.personal));
        let all = columns(true);
        assert_eq!(all.iter().filter(|c| c.personal).count(), 3);
        let keys: Vec<_> = COLUMNS.iter().map(|c| c.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "keys are unique");
    }
}
