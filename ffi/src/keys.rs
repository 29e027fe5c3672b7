//! The device's signing key in the platform's key store: a foreign trait the app implements
//! (Android Keystore, the iOS keychain) and gives the client before signing in. Without
//! one the key lives in the (encrypted) device database.

use crate::client::GridworkClient;
use crate::error::GridworkError;
use std::sync::Arc;

/// An Ed25519 key pair the app keeps. `public_key` returns the 32-byte public key (making
/// the pair on first use); `sign` the 64-byte signature of `message`. Called on the sync's
/// thread. A failure (exception) stops the sign-in or the push with `KeyStore`; nothing is
/// sent unsigned.
#[uniffi::export(foreign)]
pub trait DeviceKeyStore: Send + Sync {
    fn public_key(&self) -> Result<Vec<u8>, KeyStoreError>;
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
}

/// What a key store's exception becomes on the Rust side.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreError {
    #[error("{msg}")]
    Failed { msg: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Failed { msg: e.reason }
    }
}

/// The core's key store over the app's.
struct Adapter(Arc<dyn DeviceKeyStore>);

/// One call into the app's key store: its failure (or, as a last guard, a panic) becomes the
/// core's `KeyStore` error. The app's message may say anything; the core's carries a code.
fn guarded(call: impl FnOnce() -> Result<Vec<u8>, KeyStoreError>) -> gridwork_core::error::Result<Vec<u8>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "the app's key store failed");
            Err(gridwork_core::Error::KeyStore("密钥库不可用 (key_store)".into()))
        }
        Err(_) => Err(gridwork_core::Error::KeyStore("密钥库不可用 (key_store)".into())),
    }
}

impl gridwork_core::signer::KeyStore for Adapter {
    fn public_key(&self) -> gridwork_core::error::Result<Vec<u8>> {
        guarded(|| self.0.public_key())
    }

    fn sign(&self, message: &[u8]) -> gridwork_core::error::Result<Vec<u8>> {
        guarded(|| self.0.sign(message.to_vec()))
    }
}

#[uniffi::export]
impl GridworkClient {
    /// Keep the device's signing key in the app's key store from now on. Call it before
    /// `login`/`enrol`: the key registered at sign-in must be the one that signs.
    pub fn set_key_store(&self, keys: Arc<dyn DeviceKeyStore>) {
        self.inner.set_key_store(Arc::new(Adapter(keys)));
    }

    /// The public key (64 hex digits) this device signs its changes with; the console shows
    /// it with each signed change.
    pub fn device_key(&self) -> Result<String, GridworkError> {
        Ok(self.inner.device_key()?)
    }
}
