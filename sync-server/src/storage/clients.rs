//! Open311 client applications: the api keys an admin issues (only their SHA-256 is kept),
//! each with the service account its requests are filed by, and what a request filed
//! through Open311 carries beyond the 随手拍 report it becomes (its `media_url`, which client
//! filed it). Records themselves stay in the [`super::RecordStore`].

use super::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// A client application allowed to file requests.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRow {
    /// UUID; also the device id its reports are filed from.
    pub id: Uuid,
    /// The application's name (shown to staff as the reports' author).
    pub name: String,
    /// SHA-256 (hex) of the api key; the key itself is shown once, when it is made.
    pub key_hash: String,
    /// The service account the client's reports are filed by.
    pub user_id: String,
    /// The grid its requests are filed into for triage.
    pub grid: String,
    /// Where a request that gives only an address is placed (WGS-84).
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
    /// The admin's account id.
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A request filed through Open311: the report it became and what the report cannot hold.
#[derive(Clone, Debug, PartialEq)]
pub struct FiledRequest {
    pub report_id: Uuid,
    pub client_id: Uuid,
    /// The request's `media_url`, kept as a link (never fetched).
    pub media_url: Option<String>,
    pub filed_at: DateTime<Utc>,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: ClientRow) -> Result<()>;
    /// The client with this key hash (revoked or not).
    async fn client_by_key_hash(&self, key_hash: &str) -> Result<Option<ClientRow>>;
    async fn client(&self, id: Uuid) -> Result<Option<ClientRow>>;
    /// Every client, oldest first.
    async fn list_clients(&self) -> Result<Vec<ClientRow>>;
    /// Revoke a live client's key; true if it was live.
    async fn revoke_client(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Note a request filed through Open311 (a report id is noted once; a repeat is ignored).
    async fn put_filed_request(&self, filed: FiledRequest) -> Result<()>;
    /// The filed requests among these report ids (those that were filed through Open311).
    async fn filed_requests(&self, report_ids: &[Uuid]) -> Result<HashMap<Uuid, FiledRequest>>;
    /// The case opened from a report, once it was looked up (it never changes).
    async fn case_link(&self, report_id: Uuid) -> Result<Option<Uuid>>;
    /// Remember the case opened from a report (a report's first link stays).
    async fn put_case_link(&self, report_id: Uuid, case_id: Uuid) -> Result<()>;
}
