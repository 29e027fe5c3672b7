//! What a sync tells the app while it runs, and what it did: progress steps to the
//! observers that subscribed, and the report at the end. A leaf: no I/O.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SyncPhase {
    #[default]
    Pushing,
    Pulling,
    Reference,
    UploadingPhotos,
    Done,
}

/// Progress of a running sync. Totals of the pull are unknown until the end.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub pushed: u64,
    pub push_total: u64,
    pub pulled: u64,
    /// Photo uploads: photos and bytes, overall and for the photo going now.
    pub photos_done: u64,
    pub photos_total: u64,
    pub photo_bytes_done: u64,
    pub photo_bytes_total: u64,
    pub current_photo: Option<String>,
    pub current_photo_bytes_done: u64,
    pub current_photo_bytes_total: u64,
}

/// Told about a sync as it runs. Called on the sync's task; keep it quick.
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: &SyncProgress);
}

impl<F: Fn(&SyncProgress) + Send + Sync> SyncObserver for F {
    fn on_progress(&self, progress: &SyncProgress) {
        self(progress)
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub pulled: u64,
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub photos_uploaded: u64,
    /// Photo bytes sent (part of `bytes_sent`), resends included.
    pub photo_bytes_sent: u64,
    /// The server had been restored from a backup (or lost what this device saw): the
    /// changes it lost were queued again and the device pulled afresh.
    pub restarted: bool,
}

/// Body bytes of one exchange as they crossed the wire (compressed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireBytes {
    pub sent: u64,
    pub received: u64,
}

impl SyncReport {
    /// Count one round trip.
    pub fn count(&mut self, wire: WireBytes) {
        self.round_trips += 1;
        self.bytes_sent += wire.sent;
        self.bytes_received += wire.received;
    }

    /// Add what another part of the same sync did.
    pub fn add(&mut self, other: &SyncReport) {
        self.pushed += other.pushed;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.pulled += other.pulled;
        self.round_trips += other.round_trips;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.photos_uploaded += other.photos_uploaded;
        self.photo_bytes_sent += other.photo_bytes_sent;
        self.restarted |= other.restarted;
    }
}

/// Tell `observer` (if any).
pub fn notify(observer: Option<&dyn SyncObserver>, progress: &SyncProgress) {
    if let Some(o) = observer {
        o.on_progress(progress)
    }
}

/// The observers subscribed to a device's syncs.
#[derive(Default)]
pub struct Observers {
    list: Mutex<Vec<(u64, Arc<dyn SyncObserver>)>>,
    next: AtomicU64,
}

impl Observers {
    /// Subscribe until the returned [`Subscription`] is dropped.
    pub fn subscribe(self: &Arc<Self>, observer: Arc<dyn SyncObserver>) -> Subscription {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.list.lock().unwrap_or_else(|p| p.into_inner()).push((id, observer));
        Subscription { id, observers: Arc::downgrade(self) }
    }

    /// An observer that tells every subscriber, then `extra`.
    pub fn fanout<'a>(&'a self, extra: Option<&'a dyn SyncObserver>) -> Fanout<'a> {
        Fanout { observers: self, extra }
    }
}

/// Keeps a listener subscribed to sync progress; dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    observers: Weak<Observers>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(o) = self.observers.upgrade() {
            o.list.lock().unwrap_or_else(|p| p.into_inner()).retain(|(id, _)| *id != self.id);
        }
    }
}

/// Fans progress out to the subscribers and the caller's own observer.
pub struct Fanout<'a> {
    observers: &'a Observers,
    extra: Option<&'a dyn SyncObserver>,
}

impl SyncObserver for Fanout<'_> {
    fn on_progress(&self, progress: &SyncProgress) {
        // A copy of the list: a subscriber may unsubscribe from its own callback.
        let subscribers: Vec<_> =
            self.observers.list.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(_, o)| o.clone()).collect();
        for o in subscribers {
            o.on_progress(progress);
        }
        notify(self.extra, progress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_hear_until_their_subscription_drops() {
        let observers = Arc::new(Observers::default());
        let heard = Arc::new(AtomicU64::new(0));
        let h = heard.clone();
        let sub = observers.subscribe(Arc::new(move |_: &SyncProgress| {
            h.fetch_add(1, Ordering::Relaxed);
        }));
        let extra_heard = AtomicU64::new(0);
        let extra = |_: &SyncProgress| {
            extra_heard.fetch_add(1, Ordering::Relaxed);
        };
        observers.fanout(Some(&extra)).on_progress(&SyncProgress::default());
        drop(sub);
        observers.fanout(None).on_progress(&SyncProgress::default());
        assert_eq!((heard.load(Ordering::Relaxed), extra_heard.load(Ordering::Relaxed)), (1, 1));
    }
}
