//! The server's clocks: wall time (injectable, so tests can move time) and the hybrid
//! logical clock that stamps accepted ops. The HLC restarts above the highest stamp already
//! stored, so that no edit accepted after a restart is ordered below an earlier one.

use chrono::{DateTime, Utc};
use gridwork_core::hlc::{Hlc, HlcClock};
use gridwork_core::merge::effective_hlc;
use std::sync::Arc;

/// Where the server reads the time.
pub trait WallClock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub struct ServerClock {
    hlc: HlcClock,
    wall: Arc<dyn WallClock>,
}

impl ServerClock {
    /// A clock on `wall` that stamps above `highest_stored`.
    pub fn new(wall: Arc<dyn WallClock>, highest_stored: Option<&Hlc>) -> Self {
        let hlc = HlcClock::new("server");
        if let Some(high) = highest_stored {
            hlc.observe_at(high, ms(wall.now()));
        }
        ServerClock { hlc, wall }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.wall.now()
    }

    /// The stamp an op is ordered by: its own, unless it runs too far ahead of ours.
    pub fn stamp(&self, op_hlc: &Hlc, now: DateTime<Utc>) -> Hlc {
        effective_hlc(op_hlc, &self.hlc, ms(now))
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
        let clock = ServerClock::new(Arc::new(SystemClock), Some(&far));
        assert!(clock.tick() > far);
        assert!(clock.peek() > far);
    }
}
