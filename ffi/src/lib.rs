//! gridwork-ffi: the uniffi bindings of gridwork-core for the Android (Kotlin), iOS
//! (Swift) and Python apps. A thin layer: conversions only, the logic lives in the core.
//!
//! Bindings: `ffi/generate.sh [OUT_DIR]` (library mode, Kotlin + Swift + Python).

uniffi::setup_scaffolding!("gridwork");

mod android;
mod client;
mod error;
mod keys;
mod listener;
mod print;
mod remote;
mod status;
mod types;

pub use client::{GridworkClient, enrol_server};
pub use error::GridworkError;
pub use keys::{DeviceKeyStore, KeyStoreError};
pub use listener::{ListenerError, SyncListener, TaskHandle};
pub use status::{CaseStatus, NoticeStatus, RecordStatus, ReportStatus, ServiceLogStatus};
pub use types::*;
