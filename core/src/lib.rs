//! gridwork-core: the shared core of gridwork.
//!
//! Always compiled (shared with the server): [`model`], [`protocol`], [`reference`],
//! [`validate`], [`merge`], [`hlc`], [`media`], [`fixtures`].
//! With the `device` feature (default): the local store ([`store`]) and the sync client
//! ([`sync`]), tied together by [`client::Device`].

pub mod fixtures;
pub mod hlc;
pub mod media;
pub mod merge;
pub mod model;
pub mod protocol;
pub mod reference;
pub mod validate;

pub use uuid::Uuid;

#[cfg(feature = "device")]
pub mod client;
#[cfg(feature = "device")]
pub mod error;
#[cfg(feature = "device")]
pub mod photos;
#[cfg(feature = "device")]
pub mod store;
#[cfg(feature = "device")]
pub mod sync;

#[cfg(feature = "device")]
pub use client::{Device, DeviceConfig, Draft};
#[cfg(feature = "device")]
pub use error::{Error, Result};
