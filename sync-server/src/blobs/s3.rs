//! Blobs in an S3-compatible object store (AWS S3, MinIO, s3s-fs, …) through the
//! `object_store` crate. S3 makes an object visible only once its PUT (or multipart
//! upload) completes, so readers never see a part. Reads are streamed.

use super::{Blob, BlobError, BlobResult, BlobStore, Listed, check_key};
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart};
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Files up to this size go up in one PUT; larger ones as a multipart upload of parts of
/// this size (S3's minimum part is 5 MiB), so memory stays bounded.
const PART_BYTES: usize = 8 * 1024 * 1024;
const READ_CHUNK: usize = 1024 * 1024;
/// Parts in flight at once during a multipart upload.
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bucket is and how to sign in. `Debug` hides the secret.
#[derive(Clone)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &"<hidden>")
            .field("secret_key", &"<hidden>")
            .finish()
    }
}

pub struct S3Blobs {
    store: AmazonS3,
    describe: String,
}

fn store_err(e: object_store::Error) -> BlobError {
    BlobError::Store(e.to_string())
}

impl S3Blobs {
    pub fn new(config: &S3Config) -> BlobResult<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key)
            .with_secret_access_key(&config.secret_key)
            .with_retry(RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(30), ..RetryConfig::default() });
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // Path-style requests: self-hosted stores rarely have per-bucket DNS names.
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(store_err)?;
        let describe = format!("s3 bucket {} at {}", config.bucket, config.endpoint.as_deref().unwrap_or("AWS"));
        Ok(S3Blobs { store, describe })
    }

    fn path_of(key: &str) -> BlobResult<ObjectPath> {
        check_key(key)?;
        ObjectPath::parse(key).map_err(|_| BlobError::InvalidKey)
    }

    async fn put_multipart(&self, path: &ObjectPath, mut file: tokio::fs::File) -> BlobResult<()> {
        let upload = self.store.put_multipart(path).await.map_err(store_err)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; READ_CHUNK];
        let sent: BlobResult<()> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(store_err)?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => writer.finish().await.map(drop).map_err(store_err),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put_file(&self, key: &str, src: &Path) -> BlobResult<()> {
        let path = Self::path_of(key)?;
        let file = tokio::fs::File::open(src).await?;
        let len = file.metadata().await?.len();
        if len <= PART_BYTES as u64 {
            drop(file);
            let bytes = tokio::fs::read(src).await?;
            self.store.put(&path, bytes.into()).await.map_err(store_err)?;
            Ok(())
        } else {
            self.put_multipart(&path, file).await
        }
    }

    async fn put_bytes(&self, key: &str, bytes: Bytes) -> BlobResult<()> {
        let path = Self::path_of(key)?;
        self.store.put(&path, bytes.into()).await.map_err(store_err)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> BlobResult<Vec<Listed>> {
        let path = Self::path_of(prefix)?;
        let metas: Vec<object_store::ObjectMeta> = self.store.list(Some(&path)).try_collect().await.map_err(store_err)?;
        Ok(metas.into_iter().map(|m| Listed { key: m.location.to_string(), len: m.size, modified: m.last_modified }).collect())
    }

    async fn get(&self, key: &str) -> BlobResult<Option<Blob>> {
        let path = Self::path_of(key)?;
        match self.store.get(&path).await {
            Ok(result) => {
                let len = result.meta.size;
                let stream = result.into_stream().map_err(std::io::Error::other).boxed();
                Ok(Some(Blob { len, stream }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn exists(&self, key: &str) -> BlobResult<bool> {
        let path = Self::path_of(key)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_err(e)),
        }
    }

    async fn delete(&self, key: &str) -> BlobResult<()> {
        let path = Self::path_of(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::conformance::{Opened, S3sFs};
    use std::sync::Arc;

    async fn open() -> Opened {
        let server = S3sFs::start();
        let store = S3Blobs::new(&server.config()).expect("s3 store");
        Opened { store: Arc::new(store), _guard: Box::new(server) }
    }

    crate::blob_conformance!(open);

    #[test]
    fn debug_hides_the_credentials() {
        let c = S3Config {
            endpoint: None,
            bucket: "b".into(),
            region: "us-east-1".into(),
            access_key: "AKIAEXAMPLE".into(),
            secret_key: "very-secret".into(),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("very-secret") && !s.contains("AKIAEXAMPLE"), "{s}");
    }
}
