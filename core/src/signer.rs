//! Where the device's signing key lives. A phone keeps it in the platform key store (the
//! app implements [`KeyStore`] over Android Keystore or the iOS keychain, through the FFI);
//! the command line and tests keep it in the device database ([`DbKeyStore`], encrypted
//! with the database when it has a key). The format of what is signed is
//! [`crate::evidence`].

use crate::error::{Error, Result};
use crate::store::{Store, meta};
use ed25519_dalek::{Signer, SigningKey};
use std::sync::Arc;

/// The device's Ed25519 key pair, wherever it is kept.
pub trait KeyStore: Send + Sync {
    /// The public key (32 bytes), the pair made on first use.
    fn public_key(&self) -> Result<Vec<u8>>;
    /// The signature (64 bytes) of `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// The key pair in the device database's meta table (made on first use), read once.
pub struct DbKeyStore {
    store: Arc<Store>,
    key: std::sync::OnceLock<SigningKey>,
}

impl DbKeyStore {
    pub fn new(store: Arc<Store>) -> Self {
        DbKeyStore { store, key: std::sync::OnceLock::new() }
    }

    fn key(&self) -> Result<SigningKey> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let key = self.load_or_make()?;
        Ok(self.key.get_or_init(|| key).clone())
    }

    fn load_or_make(&self) -> Result<SigningKey> {
        self.store.write(|tx| {
            if let Some(hex_secret) = meta::get(tx, meta::SIGNING_KEY)? {
                let secret: [u8; 32] = hex::decode(hex_secret)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| crate::error::corrupt("meta.signing_key"))?;
                return Ok(SigningKey::from_bytes(&secret));
            }
            let key = crate::evidence::generate().ok_or_else(|| Error::KeyStore("系统随机数不可用 (no_randomness)".into()))?;
            meta::set(tx, meta::SIGNING_KEY, &hex::encode(key.to_bytes()))?;
            Ok(key)
        })
    }
}

impl KeyStore for DbKeyStore {
    fn public_key(&self) -> Result<Vec<u8>> {
        Ok(self.key()?.verifying_key().to_bytes().to_vec())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.key()?.sign(message).to_bytes().to_vec())
    }
}

/// The public key of `keys` as it is registered (hex), checked to be a key.
pub fn public_key_hex(keys: &dyn KeyStore) -> Result<String> {
    let key = hex::encode(keys.public_key()?);
    crate::evidence::parse_key(&key).map_err(|_| Error::KeyStore("密钥库返回的公钥无效 (bad_device_key)".into()))?;
    Ok(key)
}

/// The signature (hex) of `op` made on `device_id`.
pub fn sign_op(keys: &dyn KeyStore, device_id: &str, op: &crate::protocol::Op) -> Result<String> {
    let sig = keys.sign(&crate::evidence::message(device_id, op))?;
    if sig.len() != 64 {
        return Err(Error::KeyStore("密钥库返回的签名长度无效 (bad_signature)".into()));
    }
    Ok(hex::encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence;

    #[test]
    fn the_database_key_is_made_once_kept_and_signs_verifiably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let first = {
            let keys = DbKeyStore::new(Arc::new(Store::open(&path, None).unwrap()));
            let a = public_key_hex(&keys).unwrap();
            assert_eq!(a, public_key_hex(&keys).unwrap());
            a
        };
        let keys = DbKeyStore::new(Arc::new(Store::open(&path, None).unwrap()));
        assert_eq!(public_key_hex(&keys).unwrap(), first, "the same key after reopening");
        let op = crate::fixtures::create_op(crate::fixtures::records().remove(0), crate::hlc::Hlc::new(1, 0, "d"));
        let sig = sign_op(&keys, "dev-1", &op).unwrap();
        assert_eq!(evidence::verify(&first, "dev-1", &op, &sig), Ok(()));
        assert_eq!(evidence::verify(&first, "dev-2", &op, &sig), Err(evidence::EvidenceError::Mismatch));
        let mut changed = op.clone();
        changed.op_id = uuid::Uuid::now_v7();
        assert_eq!(evidence::verify(&first, "dev-1", &changed, &sig), Err(evidence::EvidenceError::Mismatch));
    }

    struct Short;
    impl KeyStore for Short {
        fn public_key(&self) -> Result<Vec<u8>> {
            Ok(vec![1; 31])
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>> {
            Ok(vec![0; 10])
        }
    }

    #[test]
    fn a_key_store_giving_bad_bytes_is_a_typed_error() {
        assert!(matches!(public_key_hex(&Short), Err(Error::KeyStore(_))));
        let op = crate::fixtures::create_op(crate::fixtures::records().remove(0), crate::hlc::Hlc::new(1, 0, "d"));
        assert!(matches!(sign_op(&Short, "d", &op), Err(Error::KeyStore(_))));
    }
}
