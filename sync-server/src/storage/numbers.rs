//! Notice-number blocks: the ranges of a brigade's yearly sequence handed to devices, what
//! became of each number, and the check a pushed notice's number must pass (in the push's
//! own unit of work, see [`super::RecordTx::number_states`]).

use super::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridwork_core::numbering::NumberBlock;
use gridwork_core::protocol::BlockReturn;

/// What a pushed notice's number turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberUse {
    /// From an open part of a block of this device and account, used now.
    Fresh,
    /// Not from such a block (another device's, given back, lost, never handed out).
    NotIssued,
    /// Already on a notice.
    Used,
}

/// A number of a brigade's yearly sequence: (prefix, year, n).
pub type NumberKey = (String, i32, u64);

/// Where a number stands for one device and account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberState {
    /// The notice that has it, if one does.
    pub taken_by: Option<String>,
    /// The block of this device and account whose open part holds it, if one does.
    pub block: Option<i64>,
}

impl NumberState {
    /// What a new notice `record_id` with this number would be.
    pub fn use_by(&self, record_id: &str) -> NumberUse {
        match (&self.taken_by, self.block) {
            // The same notice again (its create retried under a new op id) is no second use.
            (Some(r), _) if r == record_id => NumberUse::Fresh,
            (Some(_), _) => NumberUse::Used,
            (None, Some(_)) => NumberUse::Fresh,
            (None, None) => NumberUse::NotIssued,
        }
    }
}

/// Whose open blocks are given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose<'a> {
    /// A device's, of every account but `keep_user` (the device changed hands).
    Device { device_id: &'a str, keep_user: Option<&'a str> },
    /// An account's, on one device or on all (its sessions were revoked).
    User { user_id: &'a str, device_id: Option<&'a str> },
}

/// One block and what became of its numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAccount {
    pub block: NumberBlock,
    pub device_id: String,
    pub user_id: String,
    pub issued_at: DateTime<Utc>,
    /// On a notice (cancelled ones included).
    pub used: u64,
    /// Of those, on a cancelled notice (作废: the number is kept, never reused).
    pub cancelled: u64,
    /// Given back by the device (never used).
    pub returned: u64,
    /// Given up with the device when it changed hands or was revoked (never used).
    pub lost: u64,
    /// Still the device's to use: `used + returned + lost + open` is the block's length.
    pub open: u64,
}

#[async_trait]
pub trait NumberStore: Send + Sync {
    /// The next `count` numbers of `prefix`'s `year` sequence for `device_id` and `user_id`;
    /// None if the year's sequence cannot hold them.
    async fn issue_block(
        &self,
        prefix: &str,
        year: i32,
        count: u32,
        device_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<NumberBlock>>;
    /// What is left of the device's blocks for `user_id`: from the number after the highest
    /// used to the end (a block returned or lost from N ends at N-1), oldest first; used-up
    /// blocks are left out.
    async fn open_blocks(&self, device_id: &str, user_id: &str) -> Result<Vec<NumberBlock>>;
    /// The device gives back the unused ends of its blocks. A return that names another
    /// device's block, one returned or lost already, or a `from` at or below a number
    /// already used (or outside the block) changes nothing for that block. How many numbers
    /// went back.
    async fn return_numbers(&self, device_id: &str, user_id: &str, returns: &[BlockReturn], at: DateTime<Utc>) -> Result<u64>;
    /// What is left of the blocks `whose` is given up, from the number after the highest
    /// used to the returned part; how many numbers were lost.
    async fn lose_numbers(&self, whose: Whose<'_>, at: DateTime<Utc>) -> Result<u64>;
    /// Every block (of `prefix` and `year` if given) and what became of its numbers.
    async fn number_accounts(&self, prefix: Option<&str>, year: Option<i32>) -> Result<Vec<BlockAccount>>;
}
