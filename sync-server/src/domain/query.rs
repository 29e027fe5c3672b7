//! A filtered, sorted, paged selection of records: what the admin console's table, its map,
//! the exports and Open311's request lists all ask the record store for. One definition,
//! so that a download is exactly the rows the table shows.

use chrono::{DateTime, Utc};
use gridwork_core::model::{RecordKind, Status};
use uuid::Uuid;

/// Which records. Every field narrows; an empty list or `None` does not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordFilter {
    pub kinds: Vec<RecordKind>,
    pub statuses: Vec<Status>,
    /// A GB/T 47678.5 大类 (2 digits) or 小类 code, a notice's `QL-*`/`MQWB`: matches that
    /// code and every code under it (by prefix).
    pub category: Option<String>,
    /// Any org code: a district, street, community or grid.
    pub org: Option<String>,
    /// Created in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Cases marked overdue (超期) and notices 逾期未整改.
    pub overdue: Option<bool>,
    /// An assignee key (`unit:<code>`, `officer:<user id>`).
    pub assignee: Option<String>,
    /// Author's account id.
    pub author: Option<String>,
    /// Free text over description, facts, summary, address and numbers (case and notice).
    /// Never over personal data (party names, phones).
    pub text: Option<String>,
    /// Located inside this box (WGS-84): the map's viewport.
    pub bbox: Option<BBox>,
}

/// A box of WGS-84 degrees, edges included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl BBox {
    /// `south,west,north,east` in degrees: finite, within the globe, south below north and
    /// west left of east (a box across the antimeridian is not one gridwork needs).
    pub fn parse(s: &str) -> Option<BBox> {
        let v: Vec<f64> = s.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
        let [south, west, north, east] = v[..] else { return None };
        let b = BBox { south, west, north, east };
        let lat = |x: f64| x.is_finite() && (-90.0..=90.0).contains(&x);
        let lon = |x: f64| x.is_finite() && (-180.0..=180.0).contains(&x);
        (lat(south) && lat(north) && lon(west) && lon(east) && south < north && west < east).then_some(b)
    }

    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.south..=self.north).contains(&lat) && (self.west..=self.east).contains(&lon)
    }
}

impl std::fmt::Display for BBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.6},{:.6},{:.6},{:.6}", self.south, self.west, self.north, self.east)
    }
}

/// The order of a selection; ties broken by id, so paging is stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    NewestFirst,
    OldestFirst,
    /// Most recently changed first.
    UpdatedFirst,
    /// Nearest deadline first (records without one last).
    DueFirst,
}

/// Where a page starts: after this record of the previous page (keyset paging: as fast on
/// page 1,000 as on page 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageAfter {
    /// The sort value of the last row of the previous page, as the store gave it.
    pub key: String,
    pub id: Uuid,
}

/// One page of a selection.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPage {
    pub records: Vec<gridwork_core::model::Record>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageAfter>,
}

/// The most rows a page may have.
pub const MAX_PAGE: u32 = 1000;

/// What a record's free-text search covers, lowercased: its description (reports, cases),
/// facts (notices), summary (service logs), number (notices, cases) and address. Never the
/// party of a notice or anything else personal.
pub fn search_text(rec: &gridwork_core::model::Record) -> String {
    use gridwork_core::model::RecordBody as B;
    let mut parts: Vec<&str> = Vec::new();
    match &rec.body {
        B::Report(r) => parts.push(&r.description),
        B::Notice(n) => parts.extend([n.facts.as_str(), n.number.as_str()]),
        B::ServiceLog(l) => parts.push(&l.summary),
        B::Case(c) => {
            parts.push(&c.description);
            parts.extend(c.number.as_deref());
        }
    }
    parts.extend(rec.location.address.as_deref());
    parts.join(" ").to_lowercase()
}

/// A record's category code, the one [`RecordFilter::category`] matches (service logs have
/// none).
pub fn category_of(rec: &gridwork_core::model::Record) -> Option<&str> {
    use gridwork_core::model::RecordBody as B;
    match &rec.body {
        B::Report(r) => Some(&r.category),
        B::Notice(n) => Some(&n.category),
        B::Case(c) => Some(&c.category),
        B::ServiceLog(_) => None,
    }
}

/// Whether a record counts as overdue for [`RecordFilter::overdue`].
pub fn is_overdue(rec: &gridwork_core::model::Record) -> bool {
    use gridwork_core::model::RecordBody as B;
    match &rec.body {
        B::Case(c) => c.overdue,
        B::Notice(_) => rec.status == Status::Overdue,
        _ => false,
    }
}
