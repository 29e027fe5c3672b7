//! Open311 GeoReport v2 as use cases: the service list (the GB/T 47678.5 table), service
//! requests as a citizen should see them, filing a request as a 随手拍 report through the
//! same push path as any device, and the client applications (api keys) admins manage.
//!
//! What is public (see docs/open311.md): 随手拍 reports, each shown with the case opened
//! from it, and the cases opened from hotline (12345) calls. Notices, service logs and the
//! cases opened from them are never shown: they name parties or are internal work. A
//! request is `open` until its report or case is closed or voided; `status_notes` is the
//! case's public reply (答复), never a note; `agency_responsible` is the unit the case is
//! dispatched to, never a person; `expected_datetime` is the case's deadline. Nothing
//! personal is kept or shown: Open311's contact fields are accepted and dropped.
//!
//! Moderation ([`crate::service::moderation`]): a record an admin hid from the public is
//! not found here, by id or in any list, until it is shown again. A report's `media_url` is
//! the link its client filed, else the public link of its first photo (which serves the
//! redacted copy when an admin blacked out faces or plates on it).

use crate::domain::DomainError;
use crate::domain::access::{Caller, Visibility};
use crate::domain::clock::ServerClock;
use crate::domain::query::{PageAfter, RecordFilter, SortKey};
use crate::service::accounts::{AccountsService, NewUser, new_token, token_hash};
use crate::service::audit::AuditService;
use crate::service::reference::ReferenceService;
use crate::service::sync::SyncService;
use crate::storage::RecordStore;
use crate::storage::clients::{ClientRow, ClientStore, FiledRequest};
use crate::storage::moderation::ModerationStore;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use gridwork_core::cases::{Assignee, Case, CaseSource};
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{Location, OrgRef, Record, RecordBody, RecordKind, Report, Role, Status};
use gridwork_core::protocol::{NewRecord, Op, OpAction, Outcome};
use gridwork_core::reference::{CategoryKind, OrgLevel, RefIndex};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Requests in one answer by default, and at most (the spec's own limit is 1,000).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The window `GET requests` covers by default, and the widest it may span.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
/// Most ids one `service_request_id` list may name.
pub const MAX_IDS: usize = 100;
/// Longest `media_url` kept.
pub const MAX_MEDIA_URL: usize = 2000;
/// Location accuracy recorded for Open311 coordinates (the spec gives none), and for a
/// request placed at its client's intake point because it gave only an address.
pub const COORDINATE_ACCURACY_M: f64 = 100.0;
pub const ADDRESS_ONLY_ACCURACY_M: f64 = 5000.0;

/// One service: a 小类 of the GB/T 47678.5 table.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Service {
    /// The 小类 code, a string (`"09006"`).
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// No service has extra attributes.
    pub metadata: bool,
    /// Always `realtime`: a request gets its id at once.
    #[serde(rename = "type")]
    pub kind: String,
    /// `部件` (component) or `事件` (matter), and the 大类 code.
    pub keywords: String,
    /// The 大类 name.
    pub group: String,
}

/// A service definition. No service has attributes; the list is empty.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<serde_json::Value>,
}

/// A service request as the public sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    /// The public reply to the reporter (答复), if one was given.
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    /// The unit the case is dispatched to (never a person).
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    /// W3C datetime with the China offset (`2026-12-01T09:30:00+08:00`).
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// The case's deadline, while it has one.
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: f64,
    pub long: f64,
    /// The link the client filed, else the public path of the report's first photo
    /// (`/public/photos/…`; the HTTP layer makes it absolute).
    pub media_url: Option<String>,
}

/// The answer to a filed request.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FiledAnswer {
    pub service_request_id: String,
    /// The same id, for clients that follow tokens.
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

/// The answer of `tokens/{token}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TokenAnswer {
    pub service_request_id: String,
    pub token: String,
}

/// A request as a client posts it, every parameter still text (as the form carried it).
#[derive(Clone, Debug, Default)]
pub struct NewServiceRequest {
    pub api_key: Option<String>,
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
}

/// The filter of `GET requests`, every parameter still text.
#[derive(Clone, Debug, Default)]
pub struct RequestQuery {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A client application as admins see it (never its key).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ClientInfo {
    pub id: Uuid,
    pub name: String,
    /// The service account its requests are filed by.
    pub user_id: String,
    pub username: String,
    pub grid: String,
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new client application as an admin asks for it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// Shown to staff as the author of its requests (1 to 50 characters).
    pub name: String,
    /// The grid its requests are filed into for triage.
    pub grid: String,
    /// Where a request that gives only an address is placed (WGS-84).
    pub lat: f64,
    pub lon: f64,
}

/// A client just made, with its api key: shown this once, stored only as a hash.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CreatedClient {
    pub client: ClientInfo,
    pub api_key: String,
}

pub struct Open311Service {
    clients: Arc<dyn ClientStore>,
    records: Arc<dyn RecordStore>,
    moderation: Arc<dyn ModerationStore>,
    accounts: Arc<AccountsService>,
    sync: Arc<SyncService>,
    reference: Arc<ReferenceService>,
    clock: Arc<ServerClock>,
    audit: Arc<AuditService>,
}

fn bad(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::invalid_input(field, message)
}

/// A W3C datetime in China time.
pub fn w3c(t: DateTime<Utc>) -> String {
    t.with_timezone(&china()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn china() -> FixedOffset {
    gridwork_core::worktime::china()
}

/// A `start_date` / `end_date`: a W3C datetime with a zone, or a date (China time, the day's
/// start).
fn parse_when(field: &str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(gridwork_core::worktime::start_of_day(d));
    }
    Err(bad(field, format!("{field}: 应为带时区的W3C时间（如 2026-12-01T00:00:00+08:00）或日期")))
}

fn parse_u32(field: &str, s: Option<&str>, default: u32, max: u32) -> Result<u32, DomainError> {
    match s.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad(field, format!("{field}: 应为1到{max}之间的整数"))),
        },
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Open or closed, for a public record; `None` for what is never public (hidden records
/// are public records an admin withdrew: see [`Open311Service`]'s moderation checks).
pub fn public_status(rec: &Record) -> Option<&'static str> {
    match (&rec.body, rec.status) {
        (RecordBody::Report(_), Status::Submitted | Status::Accepted) => Some("open"),
        (RecordBody::Report(_), Status::Closed | Status::Voided) => Some("closed"),
        (RecordBody::Case(c), stage) if c.source == CaseSource::Hotline => {
            Some(if matches!(stage, Status::Closed | Status::Voided) { "closed" } else { "open" })
        }
        _ => None,
    }
}

fn statuses_for(status: &str) -> Option<Vec<Status>> {
    match status {
        "open" => Some(vec![
            Status::Submitted,
            Status::Accepted,
            Status::Registered,
            Status::Dispatched,
            Status::Handled,
            Status::Suspended,
        ]),
        "closed" => Some(vec![Status::Closed, Status::Voided]),
        _ => None,
    }
}

/// The unit a case is dispatched to, by name: a brigade's district (an officer's, for a
/// case dispatched to one officer).
fn agency(case: &Case, refs: &RefIndex) -> Option<String> {
    let district = match case.assignee.as_ref()? {
        Assignee::Unit { code } => code.clone(),
        Assignee::Officer { user_id } => refs.user(user_id).and_then(|u| refs.district_of(&u.scope)).map(str::to_owned)?,
    };
    refs.org(&district).map(|o| format!("{}城市管理执法中队", o.name))
}

impl Open311Service {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        clients: Arc<dyn ClientStore>,
        records: Arc<dyn RecordStore>,
        moderation: Arc<dyn ModerationStore>,
        accounts: Arc<AccountsService>,
        sync: Arc<SyncService>,
        reference: Arc<ReferenceService>,
        clock: Arc<ServerClock>,
        audit: Arc<AuditService>,
    ) -> Self {
        Open311Service { clients, records, moderation, accounts, sync, reference, clock, audit }
    }

    /// Every 小类 of the category table, in code order.
    pub async fn services(&self) -> Result<Vec<Service>, DomainError> {
        let refs = self.reference.current().await?;
        let mut out: Vec<Service> =
            refs.data.categories.iter().filter(|c| c.code.len() == 5).map(|c| service_of(c, &refs.index)).collect();
        out.sort_by(|a, b| a.service_code.cmp(&b.service_code));
        Ok(out)
    }

    pub async fn service(&self, code: &str) -> Result<Service, DomainError> {
        let refs = self.reference.current().await?;
        refs.index.category(code).filter(|c| c.code.len() == 5).map(|c| service_of(c, &refs.index)).ok_or(DomainError::NotFound)
    }

    /// One public request by id (a report's, or a hotline case's).
    pub async fn request(&self, id: &str) -> Result<ServiceRequest, DomainError> {
        let id = Uuid::parse_str(id.trim()).map_err(|_| DomainError::NotFound)?;
        let rec = self.records.get(id).await?.ok_or(DomainError::NotFound)?;
        public_status(&rec).ok_or(DomainError::NotFound)?;
        // Hidden from the public: as if unknown.
        if self.moderation.hidden(id).await?.is_some() {
            return Err(DomainError::NotFound);
        }
        let mut out = self.render(vec![rec]).await?;
        out.pop().ok_or(DomainError::NotFound)
    }

    /// `GET requests`: by ids (the other parameters are then ignored), or by service,
    /// status and period (default: the last 90 days), newest first, a page at a time.
    pub async fn requests(&self, q: &RequestQuery) -> Result<Vec<ServiceRequest>, DomainError> {
        let page = parse_u32("page", q.page.as_deref(), 1, 100_000)?;
        let page_size = parse_u32("page_size", q.page_size.as_deref(), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        if let Some(ids) = non_empty(&q.service_request_id) {
            let mut wanted = Vec::new();
            for part in ids.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let id = Uuid::parse_str(part)
                    .map_err(|_| bad("service_request_id", "service_request_id: 应为请求编号，多个以逗号分隔"))?;
                if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            if wanted.len() > MAX_IDS {
                return Err(bad("service_request_id", format!("service_request_id: 一次最多{MAX_IDS}个")));
            }
            let hidden = self.moderation.hidden_among(&wanted).await?;
            let mut found = Vec::new();
            for id in wanted.into_iter().filter(|id| !hidden.contains(id)) {
                if let Some(rec) = self.records.get(id).await?
                    && public_status(&rec).is_some()
                {
                    found.push(rec);
                }
            }
            return self.render(found).await;
        }

        let refs = self.reference.current().await?;
        let mut codes: Vec<String> = Vec::new();
        if let Some(list) = non_empty(&q.service_code) {
            for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if refs.index.category(code).is_none_or(|c| c.code.len() != 5) {
                    return Err(bad("service_code", "service_code: 不是已有的服务代码（国标小类）"));
                }
                codes.push(code.to_owned());
            }
        }
        let mut statuses = Vec::new();
        if let Some(list) = non_empty(&q.status) {
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                statuses.extend(statuses_for(s).ok_or_else(|| bad("status", "status: 应为 open 或 closed"))?);
            }
        }
        let now = self.clock.now();
        let window = Duration::days(DEFAULT_WINDOW_DAYS);
        let start = non_empty(&q.start_date).map(|s| parse_when("start_date", s)).transpose()?;
        let end = non_empty(&q.end_date).map(|s| parse_when("end_date", s)).transpose()?;
        let (from, to) = match (start, end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, (s + window).min(now)),
            (None, Some(e)) => (e - window, e),
            (None, None) => (now - window, now),
        };
        if to < from {
            return Err(bad("end_date", "end_date: 不能早于 start_date"));
        }
        if to - from > window {
            return Err(bad("end_date", format!("start_date 到 end_date 不能超过{DEFAULT_WINDOW_DAYS}天")));
        }
        let filter = RecordFilter {
            kinds: vec![RecordKind::Report, RecordKind::Case],
            statuses,
            category: if codes.len() == 1 { codes.first().cloned() } else { None },
            from: Some(from),
            // `end_date` is the latest instant included.
            to: Some(to + Duration::milliseconds(1)),
            ..RecordFilter::default()
        };
        let skip = u64::from(page - 1) * u64::from(page_size);
        let mut skipped = 0u64;
        let mut chosen = Vec::new();
        let mut after: Option<PageAfter> = None;
        'pages: loop {
            let batch = self
                .records
                .search(&Visibility::All, &filter, SortKey::NewestFirst, after.as_ref(), crate::domain::query::MAX_PAGE)
                .await?;
            let candidates: Vec<Uuid> = batch.records.iter().filter(|r| public_status(r).is_some()).map(|r| r.id).collect();
            let hidden = self.moderation.hidden_among(&candidates).await?;
            for rec in batch.records {
                let category = category_of(&rec);
                if public_status(&rec).is_none() || (!codes.is_empty() && !codes.iter().any(|c| c == category)) {
                    continue;
                }
                if hidden.contains(&rec.id) {
                    continue;
                }
                if skipped < skip {
                    skipped += 1;
                    continue;
                }
                chosen.push(rec);
                if chosen.len() >= page_size as usize {
                    break 'pages;
                }
            }
            match batch.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.render(chosen).await
    }

    /// `tokens/{token}`: a token is the request's id.
    pub async fn token(&self, token: &str) -> Result<TokenAnswer, DomainError> {
        let req = self.request(token).await?;
        Ok(TokenAnswer { service_request_id: req.service_request_id, token: token.trim().to_owned() })
    }

    /// The client an api key belongs to, if it is live.
    async fn client_of(&self, api_key: Option<&str>) -> Result<ClientRow, DomainError> {
        let key = api_key.map(str::trim).filter(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(key) = key else { return Err(DomainError::Forbidden) };
        match self.clients.client_by_key_hash(&token_hash(&key.to_ascii_lowercase())).await? {
            Some(c) if c.revoked_at.is_none() => Ok(c),
            _ => Err(DomainError::Forbidden),
        }
    }

    /// `POST requests`: file a 随手拍 report in the client's intake grid, by its service
    /// account, through the push path (so every rule of a device's report applies).
    pub async fn file(&self, req: NewServiceRequest) -> Result<FiledAnswer, DomainError> {
        let client = self.client_of(req.api_key.as_deref()).await?;
        let refs = self.reference.current().await?;
        let code = non_empty(&req.service_code).ok_or_else(|| bad("service_code", "缺少 service_code"))?;
        let service = refs
            .index
            .category(code)
            .filter(|c| c.code.len() == 5)
            .ok_or_else(|| bad("service_code", "service_code: 不是已有的服务代码（国标小类）"))?
            .clone();
        let coordinate = |field: &str, v: &str, max: f64| -> Result<f64, DomainError> {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && x.abs() <= max)
                .ok_or_else(|| bad(field, format!("{field}: 应为-{max}到{max}之间的数")))
        };
        let address = non_empty(&req.address_string).map(str::to_owned);
        let location = match (non_empty(&req.lat), non_empty(&req.long)) {
            (Some(lat), Some(lon)) => Location {
                lat: coordinate("lat", lat, 90.0)?,
                lon: coordinate("long", lon, 180.0)?,
                accuracy_m: COORDINATE_ACCURACY_M,
                address,
            },
            (None, None) if address.is_some() => {
                Location { lat: client.lat, lon: client.lon, accuracy_m: ADDRESS_ONLY_ACCURACY_M, address }
            }
            (None, None) if non_empty(&req.address_id).is_some() => {
                return Err(bad("address_id", "不支持 address_id：请提供 lat 和 long，或 address_string"));
            }
            (None, None) => return Err(bad("lat", "请提供位置：lat 和 long，或 address_string")),
            _ => return Err(bad("long", "lat 和 long 须同时提供")),
        };
        let media_url = match non_empty(&req.media_url) {
            None => None,
            Some(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() <= MAX_MEDIA_URL
                    && !url.chars().any(|c| c.is_control() || c.is_whitespace());
                if !ok {
                    return Err(bad("media_url", format!("media_url: 应为 http(s) 链接，最长{MAX_MEDIA_URL}个字符")));
                }
                Some(url.to_owned())
            }
        };
        let description = match non_empty(&req.description) {
            Some(d) => d.to_owned(),
            None => format!("{}（经{}上报）", service.name, client.name),
        };
        let place = refs.index.grid_place(&client.grid).ok_or_else(|| DomainError::internal("client grid is gone"))?;
        let now = self.clock.now();
        let record_id = Uuid::now_v7();
        let node = client.id.simple().to_string();
        let op = Op {
            op_id: Uuid::now_v7(),
            record_id,
            hlc: Hlc::new(u64::try_from(now.timestamp_millis()).unwrap_or(0), 0, node),
            action: OpAction::Create(NewRecord {
                org: OrgRef { community: place.community.clone(), grid: place.grid.clone() },
                created_at: now,
                location,
                status: Status::Submitted,
                body: RecordBody::Report(Report {
                    category: service.code.clone(),
                    description,
                    photos: Vec::new(),
                    duplicate_of: None,
                }),
            }),
        };
        let caller = Caller {
            user_id: client.user_id.clone(),
            device_id: client.id.to_string(),
            role: Role::GridWorker,
            scope: client.grid,
        };
        let answer = self.sync.push(&caller, vec![op]).await?;
        let result = answer.results.into_iter().next().ok_or_else(|| DomainError::internal("push answered no result"))?;
        if result.outcome != Outcome::Accepted {
            let rejection = result.rejection.ok_or_else(|| DomainError::internal("rejected without a reason"))?;
            let field = rejection.field.clone().unwrap_or_default();
            return Err(bad(&field, rejection.message));
        }
        self.clients
            .put_filed_request(FiledRequest { report_id: record_id, client_id: client.id, media_url, filed_at: now })
            .await?;
        tracing::info!(client = %client.id, "open311 request filed");
        let id = record_id.to_string();
        Ok(FiledAnswer {
            service_notice: format!("已受理，将在核实后立案处置。请凭编号 {id} 查询进度。"),
            token: id.clone(),
            service_request_id: id,
            account_id: None,
        })
    }

    /// Render public records as requests: a report with the case opened from it.
    async fn render(&self, recs: Vec<Record>) -> Result<Vec<ServiceRequest>, DomainError> {
        let refs = self.reference.current().await?;
        let report_ids: Vec<Uuid> = recs.iter().filter(|r| r.kind() == RecordKind::Report).map(|r| r.id).collect();
        let filed = if report_ids.is_empty() { HashMap::new() } else { self.clients.filed_requests(&report_ids).await? };
        let mut out = Vec::with_capacity(recs.len());
        for rec in recs {
            let Some(status) = public_status(&rec) else { continue };
            let case = match (&rec.body, rec.status) {
                (RecordBody::Case(c), _) => Some((c.clone(), rec.status, rec.updated_at)),
                (RecordBody::Report(_), Status::Accepted | Status::Closed | Status::Voided) => self.case_of(&rec).await?,
                _ => None,
            };
            let code = category_of(&rec).to_owned();
            let (description, category_name) = match &rec.body {
                RecordBody::Report(r) => (r.description.clone(), refs.index.category(&r.category).map(|c| c.name.clone())),
                RecordBody::Case(c) => (c.description.clone(), refs.index.category(&c.category).map(|c| c.name.clone())),
                _ => continue,
            };
            let updated = case.as_ref().map_or(rec.updated_at, |(_, _, at)| (*at).max(rec.updated_at));
            let expected = case.as_ref().and_then(|(c, stage, _)| {
                c.due_at.filter(|_| matches!(stage, Status::Dispatched | Status::Handled | Status::Suspended))
            });
            // The client's own link, else the first photo an admin has made public.
            let media_url = match (filed.get(&rec.id).and_then(|f| f.media_url.clone()), &rec.body) {
                (Some(url), _) => Some(url),
                (None, RecordBody::Report(r)) if !r.photos.is_empty() => {
                    let public = self.moderation.redactions(rec.id).await?;
                    r.photos
                        .iter()
                        .find(|p| public.iter().any(|x| x.photo == p.sha256))
                        .map(|p| crate::service::moderation::public_photo_path(rec.id, &p.sha256))
                }
                _ => None,
            };
            out.push(ServiceRequest {
                service_request_id: rec.id.to_string(),
                status: status.to_owned(),
                status_notes: case.as_ref().and_then(|(c, _, _)| c.reply.clone()),
                service_name: category_name.unwrap_or_else(|| code.clone()),
                service_code: code,
                description,
                agency_responsible: case.as_ref().and_then(|(c, _, _)| agency(c, &refs.index)),
                service_notice: None,
                requested_datetime: w3c(rec.created_at),
                updated_datetime: w3c(updated),
                expected_datetime: expected.map(w3c),
                address: rec.location.address.clone(),
                address_id: None,
                zipcode: None,
                lat: rec.location.lat,
                long: rec.location.lon,
                media_url,
            });
        }
        Ok(out)
    }

    /// The case opened from a report, with its stage and last change. Looked up once among
    /// the cases made since the report, then remembered (a report's case never changes).
    async fn case_of(&self, report: &Record) -> Result<Option<(Case, Status, DateTime<Utc>)>, DomainError> {
        let found = |rec: Record| match rec.body {
            RecordBody::Case(c) if c.source == (CaseSource::Report { id: report.id }) => Some((c, rec.status, rec.updated_at)),
            _ => None,
        };
        if let Some(case_id) = self.clients.case_link(report.id).await?
            && let Some(rec) = self.records.get(case_id).await?
        {
            return Ok(found(rec));
        }
        // A phone's clock may run behind the report's: look a day further back.
        let filter = RecordFilter {
            kinds: vec![RecordKind::Case],
            from: Some(report.created_at - Duration::days(1)),
            ..RecordFilter::default()
        };
        let mut after: Option<PageAfter> = None;
        for _ in 0..MAX_CASE_SCAN_PAGES {
            let page = self
                .records
                .search(&Visibility::All, &filter, SortKey::OldestFirst, after.as_ref(), crate::domain::query::MAX_PAGE)
                .await?;
            for rec in page.records {
                let id = rec.id;
                if let Some(hit) = found(rec) {
                    self.clients.put_case_link(report.id, id).await?;
                    return Ok(Some(hit));
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(None)
    }

    /// An admin makes a client application: its service account (a grid worker of the
    /// intake grid whose password nobody knows: it never signs in) and its api key.
    pub async fn create_client(&self, caller: &Caller, new: NewClient) -> Result<CreatedClient, DomainError> {
        caller.require_admin()?;
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
            return Err(bad("name", "name: 不能为空，最多50个字"));
        }
        let refs = self.reference.current().await?;
        if refs.index.org(&new.grid).is_none_or(|o| o.level != OrgLevel::Grid) {
            return Err(bad("grid", "grid: 网格不存在"));
        }
        if !(new.lat.is_finite() && (-90.0..=90.0).contains(&new.lat)) {
            return Err(bad("lat", "lat: 纬度应在-90到90之间"));
        }
        if !(new.lon.is_finite() && (-180.0..=180.0).contains(&new.lon)) {
            return Err(bad("lon", "lon: 经度应在-180到180之间"));
        }
        let id = Uuid::now_v7();
        let username = format!("open311.{}", &id.simple().to_string()[20..]);
        let account = self
            .accounts
            .add_user_by(
                &caller.user_id,
                NewUser {
                    username: username.clone(),
                    display_name: name.clone(),
                    role: Role::GridWorker,
                    scope: new.grid.clone(),
                    password: new_token(),
                },
            )
            .await?;
        let api_key = new_token();
        let row = ClientRow {
            id,
            name,
            key_hash: token_hash(&api_key),
            user_id: account.id.clone(),
            grid: new.grid,
            lat: new.lat,
            lon: new.lon,
            created_at: self.clock.now(),
            created_by: caller.user_id.clone(),
            revoked_at: None,
        };
        self.clients.insert_client(row.clone()).await?;
        let detail = serde_json::json!({ "user": account.id, "grid": row.grid });
        self.audit.record(&caller.user_id, "open311_client_add", Some(&id.to_string()), detail).await?;
        Ok(CreatedClient { client: info(row, username), api_key })
    }

    /// Every client application (admins only).
    pub async fn clients(&self, caller: &Caller) -> Result<Vec<ClientInfo>, DomainError> {
        caller.require_admin()?;
        let refs = self.reference.current().await?;
        Ok(self
            .clients
            .list_clients()
            .await?
            .into_iter()
            .map(|c| {
                let username = refs.index.user(&c.user_id).map(|u| u.username.clone()).unwrap_or_default();
                info(c, username)
            })
            .collect())
    }

    /// Revoke a client's key (admins only); its requests stay.
    pub async fn revoke_client(&self, caller: &Caller, id: Uuid) -> Result<(), DomainError> {
        caller.require_admin()?;
        self.clients.client(id).await?.ok_or(DomainError::NotFound)?;
        if self.clients.revoke_client(id, self.clock.now()).await? {
            self.audit.record(&caller.user_id, "open311_client_revoke", Some(&id.to_string()), serde_json::json!({})).await?;
        }
        Ok(())
    }
}

/// Pages of cases looked through for a report's case before giving up.
const MAX_CASE_SCAN_PAGES: usize = 50;

fn info(c: ClientRow, username: String) -> ClientInfo {
    ClientInfo {
        id: c.id,
        name: c.name,
        user_id: c.user_id,
        username,
        grid: c.grid,
        lat: c.lat,
        lon: c.lon,
        created_at: c.created_at,
        revoked_at: c.revoked_at,
    }
}

fn category_of(rec: &Record) -> &str {
    match &rec.body {
        RecordBody::Report(r) => &r.category,
        RecordBody::Case(c) => &c.category,
        RecordBody::Notice(n) => &n.category,
        RecordBody::ServiceLog(_) => "",
    }
}

fn service_of(c: &gridwork_core::reference::Category, refs: &RefIndex) -> Service {
    let group = c.parent.as_deref().and_then(|p| refs.category(p)).map(|p| p.name.clone()).unwrap_or_default();
    let kind = match c.kind {
        CategoryKind::Component => "部件",
        CategoryKind::Matter => "事件",
    };
    Service {
        service_code: c.code.clone(),
        service_name: c.name.clone(),
        description: format!("{group} · {}（{kind}）", c.name),
        metadata: false,
        kind: "realtime".into(),
        keywords: format!("{kind}, {}", c.parent.as_deref().unwrap_or("")),
        group,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn datetimes_are_w3c_in_china_time() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 1, 30, 0).single().expect("date");
        assert_eq!(w3c(t), "2026-12-01T09:30:00+08:00");
        assert_eq!(parse_when("start_date", "2026-12-01T09:30:00+08:00").expect("parse"), t);
        assert_eq!(parse_when("start_date", "2026-12-01T01:30:00Z").expect("parse"), t);
        assert_eq!(parse_when("start_date", "2026-12-01").expect("date"), gridwork_core::worktime::start_of_day(t.date_naive()));
        assert!(parse_when("start_date", "yesterday").is_err());
        assert!(parse_when("start_date", "2026-12-01T09:30:00").is_err(), "a zone is required");
    }

    #[test]
    fn page_parameters_are_bounded() {
        assert_eq!(parse_u32("page", None, 1, 10).expect("default"), 1);
        assert_eq!(parse_u32("page", Some("3"), 1, 10).expect("3"), 3);
        for bad in ["0", "-1", "11", "x", "1.5"] {
            assert!(parse_u32("page", Some(bad), 1, 10).is_err(), "{bad}");
        }
    }
}
