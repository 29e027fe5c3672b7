//! The reference data as every request reads it: the lists, their index for the rules, and
//! the JSON body devices fetch with its version and ETag, built once per change.

use crate::domain::DomainError;
use bytes::Bytes;
use gridwork_core::reference::{RefIndex, ReferenceData};
use sha2::{Digest, Sha256};

pub struct RefCache {
    pub data: ReferenceData,
    pub index: RefIndex,
    /// `data` as served by `GET /v1/reference`.
    pub json: Bytes,
    /// Quoted strong ETag of `json`.
    pub etag: String,
    /// `data` with the stall operators masked, for accounts without the right to see them
    /// (grid workers), and its ETag.
    pub masked_json: Bytes,
    pub masked_etag: String,
    /// The storage revision the cache was built from.
    pub revision: u64,
}

impl RefCache {
    /// The cache of `data` (its `version` is computed here: a hash of the lists).
    pub fn build(mut data: ReferenceData, revision: u64) -> Result<Self, DomainError> {
        let lists =
            serde_json::to_vec(&(&data.orgs, &data.categories, &data.users, &data.calendar, &data.time_limits, &data.stalls))
                .map_err(DomainError::internal)?;
        data.version = hex::encode(&Sha256::digest(&lists)[..8]);
        let json = Bytes::from(serde_json::to_vec(&data).map_err(DomainError::internal)?);
        let etag = format!("\"{}\"", data.version);
        let masked = ReferenceData { stalls: data.stalls.iter().map(|s| s.masked()).collect(), ..data.clone() };
        let masked_json = Bytes::from(serde_json::to_vec(&masked).map_err(DomainError::internal)?);
        let masked_etag = format!("\"{}-m\"", data.version);
        let index = RefIndex::new(&data);
        Ok(RefCache { data, index, json, etag, masked_json, masked_etag, revision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::fixtures;

    #[test]
    fn the_version_follows_the_lists_only() {
        let a = RefCache::build(fixtures::reference_data(), 1).expect("build");
        let b = RefCache::build(fixtures::reference_data(), 2).expect("build");
        assert_eq!(a.data.version, b.data.version, "the revision number is not part of the version");
        assert_eq!(a.etag, format!("\"{}\"", a.data.version));
        let mut changed = fixtures::reference_data();
        changed.orgs[0].name = "改名".into();
        assert_ne!(RefCache::build(changed, 3).expect("build").data.version, a.data.version);
        assert!(a.index.grid_place(fixtures::GRID).is_some());
    }
}
