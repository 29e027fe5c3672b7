//! gridwork-core: the shared core of gridwork.
//!
//! The shared half, always compiled and used by the server too, does no I/O:
//! [`model`], [`protocol`], [`reference`], [`validate`], [`merge`], [`hlc`], [`media`],
//! [`time`]; with feature `sqlite`, the migration runner [`sql`]; with `test-support`,
//! [`fixtures`].
//!
//! The device half (feature `device`, on by default): the local store ([`store`]), the
//! HTTP transport ([`transport`]), the engines over a [`context::DeviceContext`]
//! ([`sync`], [`session`], [`edit`], [`photos`]) and the [`Device`] facade the apps hold.

pub mod cases;
pub mod evidence;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod geo;
pub mod hlc;
pub mod media;
pub mod merge;
pub mod model;
pub mod numbering;
#[cfg(feature = "print")]
pub mod print;
pub mod privacy;
pub mod protocol;
pub mod reference;
pub mod rights;
#[cfg(feature = "sqlite")]
pub mod sql;
pub mod stalls;
pub mod time;
pub mod validate;
pub mod worktime;

pub use uuid::Uuid;

#[cfg(feature = "device")]
pub mod context;
#[cfg(feature = "device")]
pub mod device;
#[cfg(feature = "device")]
pub mod edit;
#[cfg(feature = "device")]
pub mod error;
#[cfg(feature = "device")]
pub mod events;
#[cfg(feature = "device")]
pub mod numbers;
#[cfg(feature = "device")]
pub mod photos;
#[cfg(feature = "device")]
pub mod session;
#[cfg(feature = "device")]
pub mod shown;
#[cfg(feature = "device")]
pub mod signer;
#[cfg(feature = "device")]
pub mod store;
#[cfg(feature = "device")]
pub mod sync;
#[cfg(feature = "device")]
pub mod transport;

#[cfg(feature = "device")]
pub use context::DeviceConfig;
#[cfg(feature = "device")]
pub use device::Device;
#[cfg(feature = "device")]
pub use edit::{CaseDraft, Draft};
#[cfg(feature = "device")]
pub use error::{Error, Result};
