//! Sync progress for the apps: a foreign trait they implement, adapted to the core's
//! `SyncObserver`, and the handle that keeps it subscribed.

use crate::types::SyncProgressInfo;
use gridwork_core::events::Subscription;
use gridwork_core::events::{SyncObserver, SyncProgress};
use std::sync::{Arc, Mutex};

/// Told the progress of every sync of the client while subscribed. Called on the sync's
/// thread: return quickly (post to the UI thread). Calling `cancel_sync` from here is fine.
/// An exception it throws is reported back as a `ListenerError` and ignored: a UI callback
/// cannot stop a sync.
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgressInfo) -> Result<(), ListenerError>;
}

/// What a listener's exception becomes on the Rust side (uniffi turns any unexpected
/// foreign exception into this rather than a panic).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    #[error("{msg}")]
    Failed { msg: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { msg: e.reason }
    }
}

/// The core observer that forwards to a foreign listener.
pub(crate) struct ListenerAdapter(pub(crate) Arc<dyn SyncListener>);

impl SyncObserver for ListenerAdapter {
    fn on_progress(&self, progress: &SyncProgress) {
        // A listener's failure is its own business: the sync goes on. (catch_unwind as a
        // last guard: nothing from a foreign callback may unwind through the core.)
        let listener = &self.0;
        let info = SyncProgressInfo::from(progress);
        if let Ok(Err(e)) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener.on_progress(info))) {
            tracing::debug!(error = %e, "a sync listener failed");
        }
    }
}

/// Keeps a listener subscribed. `cancel()` unsubscribes; so does dropping the handle
/// (Kotlin `close()`, Swift deinit, Python garbage collection).
#[derive(uniffi::Object)]
pub struct TaskHandle {
    subscription: Mutex<Option<Subscription>>,
}

impl TaskHandle {
    pub(crate) fn new(subscription: Subscription) -> Self {
        TaskHandle { subscription: Mutex::new(Some(subscription)) }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Unsubscribe: later progress steps are not delivered (one being delivered on another
    /// thread right now may still arrive). Calling it again is harmless.
    pub fn cancel(&self) {
        let subscription = self.subscription.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(subscription);
    }

    pub fn is_cancelled(&self) -> bool {
        self.subscription.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }
}
