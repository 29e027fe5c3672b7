//! The 小蓝棚 registry as the public sees it: stalls and 便民市场 near a point or near a
//! scanned stall, without personal data (no operator at all), for the page citizens open
//! by scanning a stall's QR code.

use crate::domain::DomainError;
use crate::service::reference::ReferenceService;
use gridwork_core::stalls::{self, Stall};
use std::sync::Arc;

/// How far the public page looks around its point.
pub const PUBLIC_RADIUS_M: f64 = 3_000.0;
/// At most this many places on the page.
pub const PUBLIC_MAX: usize = 30;

/// A place as the public sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicPlace {
    pub stall: Stall,
    pub distance_m: f64,
}

/// What the public page shows: the scanned stall (if one was) and the places near.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicNear {
    pub scanned: Option<Stall>,
    pub places: Vec<PublicPlace>,
}

pub struct StallService {
    reference: Arc<ReferenceService>,
}

impl StallService {
    pub fn new(reference: Arc<ReferenceService>) -> Self {
        StallService { reference }
    }

    /// The places near (lat, lon), or near the stall `code` (None if there is no such
    /// stall); operators left out.
    pub async fn public_near(&self, code: Option<&str>, point: Option<(f64, f64)>) -> Result<Option<PublicNear>, DomainError> {
        let refs = self.reference.current().await?;
        let scanned = match code {
            Some(c) => match refs.index.stall(c) {
                Some(s) => Some(public(s)),
                None => return Ok(None),
            },
            None => None,
        };
        let (lat, lon) = match (&scanned, point) {
            (_, Some(p)) => p,
            (Some(s), None) => (s.lat, s.lon),
            (None, None) => return Ok(Some(PublicNear { scanned, places: Vec::new() })),
        };
        let places = stalls::near(&refs.data.stalls, lat, lon, PUBLIC_RADIUS_M)
            .into_iter()
            .filter(|(s, _)| scanned.as_ref().is_none_or(|x| x.code != s.code))
            .take(PUBLIC_MAX)
            .map(|(s, d)| PublicPlace { stall: public(s), distance_m: d })
            .collect();
        Ok(Some(PublicNear { scanned, places }))
    }
}

/// A stall without its operator.
fn public(s: &Stall) -> Stall {
    Stall { operator: None, ..s.clone() }
}
