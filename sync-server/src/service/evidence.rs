//! A record's evidence checked: each field against the signed op that wrote it last
//! (`gridwork_core::evidence::check`), and each photo the record lists against the hash its
//! device signed, by reading the stored file. Used by the console's evidence page and by
//! `gridwork-server evidence verify`, which runs it on a data directory with no server.

use crate::blobs::{BlobStore, photo_key};
use crate::domain::DomainError;
use crate::domain::access::Caller;
use crate::service::audit::AuditService;
use crate::storage::RecordStore;
use futures::StreamExt;
use gridwork_core::evidence::{self, EvidenceBundle, EvidenceReport, SignedOp};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// What became of one photo's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoFile {
    /// The stored file hashes to the listed SHA-256.
    Intact,
    /// Not uploaded (yet), or gone.
    Missing,
    /// The stored file hashes to something else: swapped or damaged.
    Altered,
}

impl PhotoFile {
    pub fn code(self) -> &'static str {
        match self {
            PhotoFile::Intact => "intact",
            PhotoFile::Missing => "missing",
            PhotoFile::Altered => "altered",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PhotoFile::Intact => "文件与签名的哈希一致",
            PhotoFile::Missing => "文件尚未上传或缺失",
            PhotoFile::Altered => "文件已被替换或损坏",
        }
    }
}

/// The whole check of one record.
#[derive(Clone, Debug)]
pub struct EvidenceCheck {
    pub report: EvidenceReport,
    pub photos: Vec<(String, PhotoFile)>,
    /// The signed ops kept for the record, in stamp order.
    pub ops: Vec<SignedOp>,
}

impl EvidenceCheck {
    /// Every signature holds, no field was changed after it was signed, and no photo file
    /// was swapped (a photo still uploading is not a break).
    pub fn intact(&self) -> bool {
        self.report.intact() && !self.photos.iter().any(|(_, p)| *p == PhotoFile::Altered)
    }

    /// Only signed fields, all intact, and every photo present: what a notice should be.
    pub fn fully_signed(&self) -> bool {
        self.intact()
            && self.report.fields.iter().all(|(_, v)| v.code() == "signed")
            && self.photos.iter().all(|(_, p)| *p == PhotoFile::Intact)
    }
}

pub struct EvidenceService {
    records: Arc<dyn RecordStore>,
    blobs: Arc<dyn BlobStore>,
    /// None on the command line (nothing is exported there).
    audit: Option<Arc<AuditService>>,
}

impl EvidenceService {
    pub fn new(records: Arc<dyn RecordStore>, blobs: Arc<dyn BlobStore>, audit: Option<Arc<AuditService>>) -> Self {
        EvidenceService { records, blobs, audit }
    }

    /// The evidence bundle of record `id` for an admin (None if there is none). It holds
    /// personal data: the export is in the audit trail.
    pub async fn bundle(&self, caller: &Caller, id: Uuid) -> Result<Option<EvidenceBundle>, DomainError> {
        caller.require_admin()?;
        let Some((stored, ops)) = self.records.evidence(id).await? else { return Ok(None) };
        if let Some(audit) = &self.audit {
            let detail = serde_json::json!({ "signed_ops": ops.len() });
            audit.record(&caller.user_id, "export_evidence", Some(&id.to_string()), detail).await?;
        }
        Ok(Some(EvidenceBundle::new(stored, ops)))
    }

    /// Check record `id` (None if there is none). The caller decides who may ask: the
    /// console checks that the record is visible first.
    pub async fn check(&self, id: Uuid) -> Result<Option<EvidenceCheck>, DomainError> {
        let Some((stored, ops)) = self.records.evidence(id).await? else { return Ok(None) };
        let report = evidence::check(&stored, &ops);
        let mut photos = Vec::with_capacity(report.photos.len());
        for sha in &report.photos {
            photos.push((sha.clone(), self.photo_file(sha).await?));
        }
        Ok(Some(EvidenceCheck { report, photos, ops }))
    }

    async fn photo_file(&self, sha256: &str) -> Result<PhotoFile, DomainError> {
        let Some(mut blob) = self.blobs.get(&photo_key(sha256)).await.map_err(|e| DomainError::Internal(e.to_string()))? else {
            return Ok(PhotoFile::Missing);
        };
        let mut hasher = Sha256::new();
        while let Some(chunk) = blob.stream.next().await {
            hasher.update(chunk.map_err(|e| DomainError::Internal(format!("reading a photo: {e}")))?);
        }
        Ok(if hex::encode(hasher.finalize()) == sha256 { PhotoFile::Intact } else { PhotoFile::Altered })
    }
}
