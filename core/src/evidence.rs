//! Signed evidence. Every device holds an Ed25519 key pair, registers the public key when
//! it signs in, and signs each op it pushes; the server verifies the signature and keeps it
//! with the op. Later anyone holding the record's signed ops can show, field by field,
//! that what the record says now (a notice's facts, its party, its evidence photos' hashes)
//! is exactly what a device signed — or which fields no device signed (an admin's edit on
//! the console, a status the deadline job moved).
//!
//! No I/O here: the message format, signing and verifying, and the field-by-field check.

use crate::hlc::Hlc;
use crate::merge::StoredRecord;
use crate::model::{Record, mergeable_fields};
use crate::protocol::{Op, OpAction};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a signature covers: this prefix, the device id, a newline, and the op as JSON
/// without its signature. The device id binds the op to the key's device.
const DOMAIN: &[u8] = b"gridwork-op-v1\n";

/// Fields whose value is evidence: every mergeable field but the status, which the server's
/// jobs and the case flow move on their own.
pub fn evidence_fields(record: &Record) -> impl Iterator<Item = &'static str> {
    mergeable_fields(record.kind()).iter().copied().filter(|f| *f != "status")
}

/// Why a key or a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("设备公钥格式无效 (bad_device_key)")]
    BadKey,
    #[error("签名格式无效 (bad_signature)")]
    BadSignatureFormat,
    #[error("签名与内容不符 (bad_signature)")]
    Mismatch,
}

/// The bytes a device signs for `op`.
pub fn message(device_id: &str, op: &Op) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(device_id.as_bytes());
    out.push(b'\n');
    // Serialising a value of our own types cannot fail (no maps with non-string keys).
    serde_json::to_writer(&mut out, op).expect("an op serialises");
    out
}

/// A public key as it travels and is stored: 64 lower-case hex digits.
pub fn encode_key(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

pub fn parse_key(hex_key: &str) -> Result<VerifyingKey, EvidenceError> {
    let bytes: [u8; 32] = hex::decode(hex_key).ok().and_then(|b| b.try_into().ok()).ok_or(EvidenceError::BadKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| EvidenceError::BadKey)
}

/// Sign `op` for `device_id` with a key held in memory (the CLI's, the tests').
pub fn sign(key: &SigningKey, device_id: &str, op: &Op) -> String {
    hex::encode(key.sign(&message(device_id, op)).to_bytes())
}

/// Check `sig` (hex), made for `op` on `device_id`, against `public_key` (hex).
pub fn verify(public_key: &str, device_id: &str, op: &Op, sig: &str) -> Result<(), EvidenceError> {
    verify_with(&parse_key(public_key)?, device_id, op, sig)
}

fn verify_with(key: &VerifyingKey, device_id: &str, op: &Op, sig: &str) -> Result<(), EvidenceError> {
    let bytes: [u8; 64] = hex::decode(sig).ok().and_then(|b| b.try_into().ok()).ok_or(EvidenceError::BadSignatureFormat)?;
    key.verify(&message(device_id, op), &Signature::from_bytes(&bytes)).map_err(|_| EvidenceError::Mismatch)
}

/// [`verify`] of each op of one device's push against its `sigs` (in order; a missing
/// signature is a mismatch): the key decoded once, the ops shared out over `threads`
/// threads. A push of hundreds of ops is otherwise mostly signature checks, one core's worth.
pub fn verify_each(
    public_key: &str,
    device_id: &str,
    ops: &[Op],
    sigs: &[String],
    threads: usize,
) -> Vec<Result<(), EvidenceError>> {
    let key = match parse_key(public_key) {
        Ok(key) => key,
        Err(e) => return vec![Err(e); ops.len()],
    };
    let check = |range: std::ops::Range<usize>| -> Vec<Result<(), EvidenceError>> {
        range
            .map(|i| match sigs.get(i) {
                Some(sig) => verify_with(&key, device_id, &ops[i], sig),
                None => Err(EvidenceError::Mismatch),
            })
            .collect()
    };
    let chunk = ops.len().div_ceil(threads.max(1)).max(1);
    if chunk >= ops.len() {
        return check(0..ops.len());
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..ops.len())
            .step_by(chunk)
            .map(|start| {
                let (check, range) = (&check, start..(start + chunk).min(ops.len()));
                (range.len(), scope.spawn(move || check(range)))
            })
            .collect();
        // A checking thread cannot panic (no indexing past `ops`); were it to, its ops are
        // refused rather than the server taken down.
        parts.into_iter().flat_map(|(n, p)| p.join().unwrap_or_else(|_| vec![Err(EvidenceError::Mismatch); n])).collect()
    })
}

/// One accepted op as the server keeps it: the op with its signature, who sent it, with
/// which key, and the stamp the server ordered it by (the one a field's clock names).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignedOp {
    pub op: Op,
    pub sig: String,
    pub user_id: String,
    pub device_id: String,
    pub public_key: String,
    pub stamp: Hlc,
}

/// What the check says of one field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum FieldVerdict {
    /// The value is the one this op wrote, and its signature holds.
    Signed { op_id: Uuid, user_id: String, device_id: String },
    /// The last write of the field was by no signed op (the console, a server job, a client
    /// that does not sign).
    Unsigned,
    /// A signed op wrote the field last but its signature does not hold.
    BadSignature { op_id: Uuid },
    /// The value differs from what the op that wrote it last signed: changed afterwards.
    Altered { op_id: Uuid },
}

impl FieldVerdict {
    /// Stable code and its Chinese label, for pages and exports.
    pub fn code(&self) -> &'static str {
        match self {
            FieldVerdict::Signed { .. } => "signed",
            FieldVerdict::Unsigned => "unsigned",
            FieldVerdict::BadSignature { .. } => "bad_signature",
            FieldVerdict::Altered { .. } => "altered",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            FieldVerdict::Signed { .. } => "与设备签名一致",
            FieldVerdict::Unsigned => "无设备签名",
            FieldVerdict::BadSignature { .. } => "签名无效",
            FieldVerdict::Altered { .. } => "内容已被改动",
        }
    }

    /// A broken piece of evidence (not merely an unsigned one).
    pub fn is_broken(&self) -> bool {
        matches!(self, FieldVerdict::BadSignature { .. } | FieldVerdict::Altered { .. })
    }
}

/// The check of a whole record: each evidence field's verdict, and every kept op whose
/// signature does not hold (even one whose writes were later overwritten).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvidenceReport {
    pub record_id: Uuid,
    pub fields: Vec<(String, FieldVerdict)>,
    pub bad_signatures: Vec<Uuid>,
    /// The photo hashes the record lists now, each signed by the op that listed it when
    /// `photos` is [`FieldVerdict::Signed`]: the files must still hash to them.
    pub photos: Vec<String>,
}

impl EvidenceReport {
    /// Every kept signature holds and every field is what a device signed or plainly
    /// unsigned.
    pub fn intact(&self) -> bool {
        self.bad_signatures.is_empty() && !self.fields.iter().any(|(_, v)| v.is_broken())
    }

    pub fn verdict(&self, field: &str) -> Option<&FieldVerdict> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, v)| v)
    }
}

/// The kind's fields of a body (or body patch) as a JSON map: the value under the kind tag.
fn inner<T: Serialize>(tagged: &T) -> Map<String, Value> {
    match serde_json::to_value(tagged) {
        Ok(Value::Object(mut outer)) => match outer.values_mut().next().map(Value::take) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

/// The value `field` has in a record (Null when absent).
fn record_value(record: &Record, field: &str) -> Value {
    if field == "location" {
        return serde_json::to_value(&record.location).unwrap_or(Value::Null);
    }
    inner(&record.body).remove(field).unwrap_or(Value::Null)
}

/// The value an op writes to `field`, if it writes it.
fn op_value(op: &Op, field: &str) -> Option<Value> {
    match &op.action {
        OpAction::Create(new) => Some(if field == "location" {
            serde_json::to_value(&new.location).unwrap_or(Value::Null)
        } else {
            inner(&new.body).remove(field).unwrap_or(Value::Null)
        }),
        OpAction::Update(patch) => {
            if field == "location" {
                patch.location.as_ref().map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
            } else {
                patch.body.as_ref().and_then(|b| inner(b).remove(field))
            }
        }
        OpAction::Step(_) => None,
    }
}

/// Check a record's current state against its kept signed ops, field by field: the op
/// whose stamp the field's clock names must have written exactly the value it has now, and
/// its signature must hold for its device's key.
pub fn check(stored: &StoredRecord, ops: &[SignedOp]) -> EvidenceReport {
    let record = &stored.record;
    let holds: Vec<bool> = ops.iter().map(|s| verify(&s.public_key, &s.device_id, &s.op, &s.sig).is_ok()).collect();
    let mut fields = Vec::new();
    for field in evidence_fields(record) {
        let clock = stored.clocks.get(field);
        let writer = ops
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| Some(&s.stamp) == clock && s.op.record_id == record.id && op_value(&s.op, field).is_some());
        let verdict = match writer {
            None => FieldVerdict::Unsigned,
            Some((i, s)) if !holds[i] => FieldVerdict::BadSignature { op_id: s.op.op_id },
            Some((_, s)) if op_value(&s.op, field) != Some(record_value(record, field)) => {
                FieldVerdict::Altered { op_id: s.op.op_id }
            }
            Some((_, s)) => {
                FieldVerdict::Signed { op_id: s.op.op_id, user_id: s.user_id.clone(), device_id: s.device_id.clone() }
            }
        };
        fields.push((field.to_owned(), verdict));
    }
    EvidenceReport {
        record_id: record.id,
        fields,
        bad_signatures: ops.iter().zip(&holds).filter(|(_, ok)| !**ok).map(|(s, _)| s.op.op_id).collect(),
        photos: record.body.photos().iter().map(|p| p.sha256.clone()).collect(),
    }
}

/// What [`EvidenceBundle::format`] says.
pub const BUNDLE_FORMAT: &str = "gridwork-evidence-v1";

/// A record's evidence as one file (证据包), checkable offline with nothing but this file
/// (and, for the photos, their files): the record as the server holds it with its field
/// clocks, and every signed op kept for it. Holds personal data (a notice's party).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBundle {
    pub format: String,
    pub record: StoredRecord,
    pub ops: Vec<SignedOp>,
}

impl EvidenceBundle {
    pub fn new(record: StoredRecord, ops: Vec<SignedOp>) -> Self {
        EvidenceBundle { format: BUNDLE_FORMAT.to_owned(), record, ops }
    }

    pub fn check(&self) -> EvidenceReport {
        check(&self.record, &self.ops)
    }
}

/// A new key pair from the system's randomness (the device half); None if the system has
/// none to give.
#[cfg(feature = "device")]
pub fn generate() -> Option<SigningKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).ok()?;
    Some(SigningKey::from_bytes(&secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use std::collections::BTreeMap;

    fn signed(key: &SigningKey, op: Op, stamp: Hlc) -> SignedOp {
        let sig = sign(key, "dev", &op);
        SignedOp { op, sig, user_id: "u1".into(), device_id: "dev".into(), public_key: encode_key(&key.verifying_key()), stamp }
    }

    /// A notice as the server would hold it after its create: every field stamped `stamp`.
    fn stored(rec: &Record, stamp: &Hlc) -> StoredRecord {
        let clocks: BTreeMap<String, Hlc> =
            mergeable_fields(rec.kind()).iter().map(|f| ((*f).to_owned(), stamp.clone())).collect();
        StoredRecord { record: rec.clone(), clocks }
    }

    #[test]
    fn verify_each_answers_as_verify_would_for_every_op_in_order() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let public = encode_key(&key.verifying_key());
        let stamp = Hlc::new(1_000, 0, "dev");
        let ops: Vec<Op> = (0..7).map(|_| fixtures::create_op(fixtures::records().remove(1), stamp.clone())).collect();
        let mut sigs: Vec<String> = ops.iter().map(|op| sign(&key, "dev", op)).collect();
        sigs[2] = sign(&key, "other-device", &ops[2]);
        sigs[5] = "not hex".into();
        sigs.pop();
        for threads in [1, 2, 3, 16] {
            let got = verify_each(&public, "dev", &ops, &sigs, threads);
            let want: Vec<_> = ops
                .iter()
                .enumerate()
                .map(|(i, op)| sigs.get(i).map_or(Err(EvidenceError::Mismatch), |s| verify(&public, "dev", op, s)))
                .collect();
            assert_eq!(got, want, "{threads} threads");
            assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 4, "{got:?}");
        }
        assert_eq!(verify_each("zz", "dev", &ops, &sigs, 2), vec![Err(EvidenceError::BadKey); 7]);
        assert!(verify_each(&public, "dev", &[], &[], 2).is_empty());
    }

    #[test]
    fn each_field_is_judged_by_the_op_its_clock_names() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let rec = fixtures::records().remove(1);
        let stamp = Hlc::new(1_000, 0, "dev");
        let create = signed(&key, fixtures::create_op(rec.clone(), stamp.clone()), stamp.clone());
        let mut state = stored(&rec, &stamp);
        let report = check(&state, std::slice::from_ref(&create));
        assert!(report.intact(), "{report:?}");
        assert!(report.fields.iter().all(|(_, v)| v.code() == "signed"), "{report:?}");
        assert!(report.verdict("status").is_none(), "the status is not evidence");

        // The location moved afterwards without a signed op: altered, and only it.
        state.record.location.lat += 0.001;
        let report = check(&state, std::slice::from_ref(&create));
        assert_eq!(report.verdict("location"), Some(&FieldVerdict::Altered { op_id: create.op.op_id }));
        assert_eq!(report.fields.iter().filter(|(_, v)| v.is_broken()).count(), 1);

        // A later stamp on the field that no kept op carries: unsigned, not broken.
        state.record.location.lat -= 0.001;
        state.clocks.insert("facts".into(), Hlc::new(2_000, 0, "server"));
        let report = check(&state, std::slice::from_ref(&create));
        assert_eq!(report.verdict("facts"), Some(&FieldVerdict::Unsigned));
        assert!(report.intact());

        // A kept op whose signature fails is listed even where it no longer decides a field.
        let mut forged = create.clone();
        forged.sig = sign(&SigningKey::from_bytes(&[2u8; 32]), "dev", &forged.op);
        let report = check(&state, &[forged.clone()]);
        assert_eq!(report.bad_signatures, vec![forged.op.op_id]);
        assert_eq!(report.verdict("number"), Some(&FieldVerdict::BadSignature { op_id: forged.op.op_id }));
        assert!(!report.intact());
    }

    #[test]
    fn keys_and_signatures_in_bad_shapes_are_refused() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let op = fixtures::create_op(fixtures::records().remove(0), Hlc::new(1, 0, "d"));
        let good = sign(&key, "d", &op);
        let public = encode_key(&key.verifying_key());
        assert_eq!(verify(&public, "d", &op, &good), Ok(()));
        assert_eq!(verify("xyz", "d", &op, &good), Err(EvidenceError::BadKey));
        assert_eq!(verify(&public[..62], "d", &op, &good), Err(EvidenceError::BadKey));
        assert_eq!(verify(&public, "d", &op, "00"), Err(EvidenceError::BadSignatureFormat));
        assert_eq!(verify(&public, "d", &op, &format!("zz{}", &good[2..])), Err(EvidenceError::BadSignatureFormat));
    }
}
