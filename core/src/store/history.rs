//! A record with its history, as the record screen shows it: this device's own changes
//! (with where they stand with the server) and others' changes as they arrived.

use super::outbox::{self, LocalChange};
use super::records::{self, LocalRecord, ServerChange};
use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use uuid::Uuid;

/// One entry of a record's history, newest last.
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryEntry {
    /// A change made on this device, with where it stands with the server.
    Local(Box<LocalChange>),
    /// A change by someone else, as it arrived from the server.
    Server(ServerChange),
}

impl HistoryEntry {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            HistoryEntry::Local(c) => c.created_at,
            HistoryEntry::Server(c) => c.at,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordDetail {
    pub record: LocalRecord,
    pub history: Vec<HistoryEntry>,
}

/// The record as shown, with its history oldest first; `None` if the device lacks it.
pub fn detail(conn: &Connection, id: Uuid) -> Result<Option<RecordDetail>> {
    let Some(record) = records::get_local(conn, id)? else { return Ok(None) };
    let mut history: Vec<HistoryEntry> =
        outbox::for_record(conn, id)?.into_iter().map(|c| HistoryEntry::Local(Box::new(c))).collect();
    history.extend(records::server_changes(conn, id)?.into_iter().map(HistoryEntry::Server));
    history.sort_by_key(HistoryEntry::at);
    Ok(Some(RecordDetail { record, history }))
}
