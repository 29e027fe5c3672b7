//! Hybrid logical clock (Kulkarni et al.): a physical time in milliseconds, a counter and
//! the node (device) id. It orders concurrent edits field by field. A device that has seen
//! an edit always stamps its later edits higher, whatever its wall clock says, so a phone
//! with a clock set in the future cannot win forever: the server also refuses to let an
//! op's stamp run more than [`MAX_FUTURE_MS`] ahead of its own clock (see `merge`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Mutex;

/// How far an op's clock may run ahead of the server's before the server re-stamps it.
pub const MAX_FUTURE_MS: u64 = 5 * 60 * 1000;

/// One timestamp. Ordered by (wall_ms, counter, node).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub node: String,
}

impl Hlc {
    pub fn new(wall_ms: u64, counter: u32, node: impl Into<String>) -> Self {
        Hlc { wall_ms, counter, node: node.into() }
    }
}

/// Wire form: `<wall_ms:12 hex>-<counter:6 hex>-<node>`; fixed width so that string order
/// equals clock order (useful in SQL).
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}-{:06x}-{}", self.wall_ms, self.counter, self.node)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed clock value")]
pub struct HlcParseError;

impl std::str::FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut it = s.splitn(3, '-');
        let (w, c, n) = (it.next(), it.next(), it.next());
        let (Some(w), Some(c), Some(n)) = (w, c, n) else { return Err(HlcParseError) };
        if w.len() != 12 || c.len() != 6 || n.is_empty() || n.len() > 64 {
            return Err(HlcParseError);
        }
        if !n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
            return Err(HlcParseError);
        }
        let wall_ms = u64::from_str_radix(w, 16).map_err(|_| HlcParseError)?;
        let counter = u32::from_str_radix(c, 16).map_err(|_| HlcParseError)?;
        Ok(Hlc::new(wall_ms, counter, n))
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The clock of one node.
#[derive(Debug)]
pub struct HlcClock {
    node: String,
    last: Mutex<(u64, u32)>,
}

pub fn wall_now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

impl HlcClock {
    pub fn new(node: impl Into<String>) -> Self {
        HlcClock { node: node.into(), last: Mutex::new((0, 0)) }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// A new timestamp for a local event.
    pub fn tick(&self) -> Hlc {
        self.tick_at(wall_now_ms())
    }

    pub fn tick_at(&self, wall_ms: u64) -> Hlc {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = if wall_ms > last.0 { (wall_ms, 0) } else { (last.0, last.1 + 1) };
        Hlc::new(last.0, last.1, self.node.clone())
    }

    /// Take a remote timestamp into account, so that later local ticks are above it.
    pub fn observe(&self, remote: &Hlc) {
        self.observe_at(remote, wall_now_ms())
    }

    pub fn observe_at(&self, remote: &Hlc, wall_ms: u64) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (l, c) = *last;
        let new_l = l.max(remote.wall_ms).max(wall_ms);
        let new_c = if new_l == l && new_l == remote.wall_ms {
            c.max(remote.counter) + 1
        } else if new_l == l {
            c + 1
        } else if new_l == remote.wall_ms {
            remote.counter + 1
        } else {
            0
        };
        *last = (new_l, new_c);
    }

    /// The current clock without advancing it.
    pub fn peek(&self) -> Hlc {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        Hlc::new(last.0, last.1, self.node.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_order_is_clock_order() {
        let a = Hlc::new(1_700_000_000_000, 5, "aa");
        let b = Hlc::new(1_700_000_000_000, 16, "aa");
        let c = Hlc::new(1_700_000_000_001, 0, "aa");
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
    }

    #[test]
    fn ticks_are_monotonic_when_the_wall_clock_goes_back() {
        let clock = HlcClock::new("n1");
        let a = clock.tick_at(1000);
        let b = clock.tick_at(500);
        let c = clock.tick_at(500);
        assert!(a < b && b < c);
    }

    #[test]
    fn observing_a_clock_from_the_future_puts_later_ticks_above_it() {
        let fast = HlcClock::new("fast");
        let slow = HlcClock::new("slow");
        let remote = fast.tick_at(10_000_000);
        slow.observe_at(&remote, 1000);
        let mine = slow.tick_at(1001);
        assert!(mine > remote);
    }

    #[test]
    fn rejects_malformed_values() {
        for s in ["", "x", "00000000000g-000000-n", "000000000001-000000-", "0001-000000-n", "000000000001-000000-a b"] {
            assert!(s.parse::<Hlc>().is_err(), "{s}");
        }
    }
}
