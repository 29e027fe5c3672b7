//! The audit trail's chain: each entry's hash covers the one before it, so an entry changed,
//! removed or inserted after the fact breaks every link after it. Pure functions; the
//! stores compute the hash when they append, the service verifies the chain.

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry as stored (the time and the detail in their stored text), in the
/// order the hash covers them.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    pub seq: u64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: &'a str,
}

/// SHA-256 (hex) of the previous hash and this entry's fields, each length-prefixed so
/// that no two different entries hash alike.
pub fn entry_hash(prev: &str, link: &Link<'_>) -> String {
    let mut h = Sha256::new();
    let seq = link.seq.to_string();
    for part in [prev, seq.as_str(), link.at, link.actor, link.action, link.target.unwrap_or("\u{0}"), link.detail] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Checks a chain entry by entry, in order (so it can be fed a page at a time): each entry's
/// stored previous hash must be the hash before it, its seq the next one, and its hash what
/// its fields give.
#[derive(Clone, Debug)]
pub struct ChainCheck {
    prev: String,
    next_seq: u64,
    /// The seq of the first entry whose link does not hold.
    pub broken: Option<u64>,
    pub checked: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck { prev: GENESIS.to_owned(), next_seq: 1, broken: None, checked: 0 }
    }
}

impl ChainCheck {
    /// Check the next entry; false once the chain is broken (later entries are not looked at).
    pub fn push(&mut self, link: &Link<'_>, stored_prev: &str, stored_hash: &str) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if link.seq != self.next_seq || stored_prev != self.prev || entry_hash(&self.prev, link) != stored_hash {
            self.broken = Some(link.seq.min(self.next_seq));
            return false;
        }
        self.prev = stored_hash.to_owned();
        self.next_seq += 1;
        self.checked += 1;
        true
    }
}

/// The seq of the first entry whose link does not hold, or None if the chain is whole.
pub fn first_broken<'a>(entries: impl IntoIterator<Item = (Link<'a>, &'a str, &'a str)>) -> Option<u64> {
    let mut check = ChainCheck::default();
    for (link, prev, hash) in entries {
        if !check.push(&link, prev, hash) {
            break;
        }
    }
    check.broken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<(u64, String, String, String)> {
        let mut out = Vec::new();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=n {
            let detail = format!("{{\"n\":{seq}}}");
            let link =
                Link { seq, at: "2026-12-01T09:00:00.000Z", actor: "u1", action: "sign_in", target: None, detail: &detail };
            let hash = entry_hash(&prev, &link);
            out.push((seq, detail, prev.clone(), hash.clone()));
            prev = hash;
        }
        out
    }

    fn check(entries: &[(u64, String, String, String)]) -> Option<u64> {
        first_broken(entries.iter().map(|(seq, detail, prev, hash)| {
            let link = Link { seq: *seq, at: "2026-12-01T09:00:00.000Z", actor: "u1", action: "sign_in", target: None, detail };
            (link, prev.as_str(), hash.as_str())
        }))
    }

    #[test]
    fn a_whole_chain_verifies_and_any_change_breaks_it_at_that_entry() {
        let c = chain(5);
        assert_eq!(check(&c), None);
        let mut changed = c.clone();
        changed[2].1 = "{\"n\":99}".into();
        assert_eq!(check(&changed), Some(3), "a changed detail");
        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(check(&removed), Some(2), "a removed entry");
        let mut rehashed = c.clone();
        // Someone recomputes the changed entry's hash: the next link still breaks.
        rehashed[2].1 = "{\"n\":99}".into();
        let link =
            Link { seq: 3, at: "2026-12-01T09:00:00.000Z", actor: "u1", action: "sign_in", target: None, detail: &rehashed[2].1 };
        rehashed[2].3 = entry_hash(&rehashed[2].2, &link);
        assert_eq!(check(&rehashed), Some(4));
        assert_eq!(check(&[]), None);
    }

    #[test]
    fn fields_cannot_be_shifted_between_each_other() {
        let a = Link { seq: 1, at: "t", actor: "ab", action: "c", target: None, detail: "{}" };
        let b = Link { seq: 1, at: "t", actor: "a", action: "bc", target: None, detail: "{}" };
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &b));
        let c = Link { target: Some(""), ..a };
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &c), "no target is not an empty one");
    }
}
