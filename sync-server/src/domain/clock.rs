//! The server's clocks: wall time (injectable, so tests can move time) and the hybrid
//! logical clock that stamps accepted ops. The HLC restarts above the highest stamp already
//! stored, so that no edit accepted after a restart is ordered below an earlier one.

use chrono::{DateTime, Duration, Utc};
use gridwork_core::hlc::{Hlc, HlcClock};
use gridwork_core::merge::effective_hlc;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Where the server reads the time: the machine's clock, shifted by an offset that drills,
/// tests and the demo's history can set (`--clock-offset-file`, or [`WallClock::shift`]).
/// With no file and no shift it is the machine's clock.
#[derive(Debug, Default)]
pub struct WallClock {
    /// A file holding an offset in seconds (e.g. `86400`), read again when it changes.
    file: Option<PathBuf>,
    file_offset: Mutex<(Option<SystemTime>, i64)>,
    shift_ms: AtomicI64,
}

impl WallClock {
    /// The machine's clock.
    pub fn system() -> WallClock {
        WallClock::default()
    }

    /// The machine's clock plus the offset (seconds) written in `file`; a missing or
    /// unreadable file is no offset.
    pub fn with_offset_file(file: PathBuf) -> WallClock {
        WallClock { file: Some(file), ..WallClock::default() }
    }

    /// Move this clock by `by` from the machine's (replacing an earlier shift).
    pub fn shift(&self, by: Duration) {
        self.shift_ms.store(by.num_milliseconds(), Ordering::Relaxed);
    }

    fn file_offset_ms(&self) -> i64 {
        let Some(path) = &self.file else { return 0 };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut cache = self.file_offset.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0 != modified {
            let secs = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0);
            *cache = (modified, secs.saturating_mul(1000));
        }
        cache.1
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.file_offset_ms().saturating_add(self.shift_ms.load(Ordering::Relaxed));
        Utc::now() + Duration::milliseconds(offset)
    }
}

pub struct ServerClock {
    hlc: HlcClock,
    wall: Arc<WallClock>,
}

impl ServerClock {
    /// A clock on `wall` that stamps above `highest_stored`.
    pub fn new(wall: Arc<WallClock>, highest_stored: Option<&Hlc>) -> Self {
        let hlc = HlcClock::new("server");
        if let Some(high) = highest_stored {
            hlc.observe_at(high, ms(wall.now()));
        }
        ServerClock { hlc, wall }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wall.now()
    }

    pub fn wall(&self) -> &Arc<WallClock> {
        &self.wall
    }

    /// The stamp an op is ordered by: its own, unless it runs too far ahead of ours.
    /// `stored` is the highest clock the record holds now (read inside the unit of work):
    /// the clock first moves past it, and an op this server made itself (the console, the
    /// deadline job: stamped with its node before the record was read) is stamped afresh,
    /// so that it orders after every write already stored, whichever server process
    /// accepted that write and however far its clock ran ahead of ours.
    pub fn stamp(&self, op_hlc: &Hlc, stored: Option<&Hlc>, now: DateTime<Utc>) -> Hlc {
        let now = ms(now);
        if let Some(high) = stored {
            self.hlc.observe_at(high, now);
        }
        if op_hlc.node == self.hlc.node() {
            return self.hlc.tick_at(now);
        }
        effective_hlc(op_hlc, &self.hlc, now)
    }

    /// A fresh stamp for the server's own answer (e.g. a login).
    pub fn tick(&self) -> Hlc {
        self.hlc.tick_at(ms(self.now()))
    }

    /// The current stamp, for answers that devices advance their clocks past.
    pub fn peek(&self) -> Hlc {
        self.hlc.peek()
    }
}

fn ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_above_the_highest_stored_stamp() {
        let far = Hlc::new(ms(Utc::now()) + 3_600_000, 7, "phone");
        let clock = ServerClock::new(Arc::new(WallClock::system()), Some(&far));
        assert!(clock.tick() > far);
        assert!(clock.peek() > far);
    }

    #[test]
    fn own_ops_are_stamped_after_what_another_process_stored() {
        let clock = ServerClock::new(Arc::new(WallClock::system()), None);
        let mine = clock.tick();
        // Another server process, its clock a minute ahead, wrote the record since.
        let other = Hlc::new(mine.wall_ms + 60_000, 3, "server");
        let stamp = clock.stamp(&mine, Some(&other), Utc::now());
        assert!(stamp > other, "{stamp} after {other}");
        // A device's op keeps its own stamp (it may lose to the later write: that is LWW).
        let phone = Hlc::new(mine.wall_ms, 0, "phone");
        assert_eq!(clock.stamp(&phone, Some(&other), Utc::now()), phone);
        assert!(clock.tick() > other);
    }

    #[test]
    fn the_wall_clock_moves_by_its_file_and_its_shift() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("offset");
        let wall = WallClock::with_offset_file(file.clone());
        let drift = |w: &WallClock| (w.now() - Utc::now()).num_seconds();
        assert_eq!(drift(&wall), 0, "no file: the machine's time");
        std::fs::write(&file, "86400").expect("write");
        assert!((86_399..=86_400).contains(&drift(&wall)), "a day ahead");
        wall.shift(Duration::hours(-2));
        assert!((79_199..=79_200).contains(&drift(&wall)));
        std::fs::write(&file, "not a number").expect("write");
        assert!((-7_201..=-7_199).contains(&drift(&wall)), "an unreadable file is no offset");
    }
}
