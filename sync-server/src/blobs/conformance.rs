//! The blob store conformance suite: every [`BlobStore`] must pass it. Written against
//! `Arc<dyn BlobStore>` only; `blob_conformance!(open)` generates one test per case, where
//! `open()` returns a fresh empty store with whatever keeps it alive ([`Opened`]).
//!
//! The S3 implementation runs it against a real `s3s-fs` server process started here on a
//! free loopback port ([`S3sFs`]); a machine without `s3s-fs` fails those tests (run
//! `scripts/setup.sh`), it never skips them.

use super::{BlobError, BlobStore, photo_key, thumb_key};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use std::any::Any;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fresh store, and what must live as long as it (temp dirs, server processes).
pub struct Opened {
    pub store: Arc<dyn BlobStore>,
    /// Kept alive, never read.
    pub _guard: Box<dyn Any + Send>,
}

/// Deterministic pseudo-random bytes (xorshift), so objects are not trivially compressible.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write source file");
    p
}

async fn read_all(store: &dyn BlobStore, key: &str) -> Option<Vec<u8>> {
    let blob = store.get(key).await.expect("get")?;
    let chunks: Vec<bytes::Bytes> = blob.stream.try_collect().await.expect("stream");
    let bytes = chunks.concat();
    assert_eq!(bytes.len() as u64, blob.len, "announced length matches the bytes streamed");
    Some(bytes)
}

pub async fn roundtrip_of_3mb_streams_back_identical(store: Arc<dyn BlobStore>, scratch: &Path) {
    let data = noise(3 * 1024 * 1024, 1);
    let key = photo_key(&sha_hex(&data));
    assert!(key.starts_with("photos/") && key.split('/').nth(1).is_some_and(|s| s.len() == 2));
    let src = file_with(scratch, "photo", &data);
    store.put_file(&key, &src).await.expect("put");
    assert!(src.exists(), "the source file is left in place");
    let blob = store.get(&key).await.expect("get").expect("present");
    assert_eq!(blob.len, data.len() as u64);
    let chunks: Vec<bytes::Bytes> = blob.stream.try_collect().await.expect("stream");
    assert!(chunks.len() > 1, "streamed in chunks, not one buffer");
    assert!(chunks.concat() == data, "bytes differ");
}

pub async fn exists_before_and_after(store: Arc<dyn BlobStore>, scratch: &Path) {
    let data = noise(1000, 2);
    let sha = sha_hex(&data);
    let (photo, thumb) = (photo_key(&sha), thumb_key(&sha));
    assert!(!store.exists(&photo).await.expect("exists"));
    store.put_file(&photo, &file_with(scratch, "p", &data)).await.expect("put");
    assert!(store.exists(&photo).await.expect("exists"));
    assert!(!store.exists(&thumb).await.expect("exists"), "keys are independent");
    store.delete(&photo).await.expect("delete");
    assert!(!store.exists(&photo).await.expect("exists"));
}

pub async fn overwrite_is_idempotent(store: Arc<dyn BlobStore>, scratch: &Path) {
    let a = noise(200_000, 3);
    let key = photo_key(&sha_hex(&a));
    let src = file_with(scratch, "a", &a);
    store.put_file(&key, &src).await.expect("put");
    store.put_file(&key, &src).await.expect("put again");
    assert!(read_all(store.as_ref(), &key).await.expect("present") == a);
    let b = noise(1000, 4);
    store.put_file(&key, &file_with(scratch, "b", &b)).await.expect("replace");
    assert!(read_all(store.as_ref(), &key).await.expect("present") == b, "a put replaces the object");
}

pub async fn delete_removes_and_is_idempotent(store: Arc<dyn BlobStore>, scratch: &Path) {
    let data = noise(5000, 5);
    let key = thumb_key(&sha_hex(&data));
    store.put_file(&key, &file_with(scratch, "t", &data)).await.expect("put");
    store.delete(&key).await.expect("delete");
    assert!(store.get(&key).await.expect("get").is_none());
    store.delete(&key).await.expect("deleting a missing key is fine");
}

pub async fn get_of_a_missing_key_is_none(store: Arc<dyn BlobStore>, _scratch: &Path) {
    let key = photo_key(&"0".repeat(64));
    assert!(store.get(&key).await.expect("get").is_none());
    assert!(!store.exists(&key).await.expect("exists"));
}

pub async fn invalid_keys_are_refused(store: Arc<dyn BlobStore>, scratch: &Path) {
    let src = file_with(scratch, "x", b"x");
    for key in ["../escape", "photos//x", "/abs", "Photos/X", ".tmp/x"] {
        assert!(matches!(store.put_file(key, &src).await, Err(BlobError::InvalidKey)), "{key}");
        assert!(matches!(store.get(key).await, Err(BlobError::InvalidKey)), "{key}");
    }
}

/// While one task replaces an object again and again, readers only ever see one whole
/// version (or, before the first put, nothing). The writer goes on until the reader has
/// seen each version at least once, so the reads really overlap the writes.
pub async fn concurrent_reader_never_sees_a_partial_object(store: Arc<dyn BlobStore>, scratch: &Path) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let v1 = vec![b'a'; 600_000];
    let v2 = vec![b'b'; 900_000];
    let key = photo_key(&"c".repeat(64));
    let (p1, p2) = (file_with(scratch, "v1", &v1), file_with(scratch, "v2", &v2));
    let enough = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, key, enough) = (store.clone(), key.clone(), enough.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut puts = 0u32;
            while !enough.load(Ordering::Acquire) && Instant::now() < deadline {
                let src = if puts.is_multiple_of(2) { &p1 } else { &p2 };
                store.put_file(&key, src).await.expect("put");
                puts += 1;
                tokio::task::yield_now().await;
            }
            store.put_file(&key, &p2).await.expect("put");
            puts
        })
    };
    let (mut seen_v1, mut seen_v2) = (0u32, 0u32);
    while !writer.is_finished() {
        if let Some(bytes) = read_all(store.as_ref(), &key).await {
            assert!(bytes == v1 || bytes == v2, "partial or mixed object of {} bytes", bytes.len());
            if bytes == v1 {
                seen_v1 += 1
            } else {
                seen_v2 += 1
            }
            if seen_v1 > 0 && seen_v2 > 0 {
                enough.store(true, Ordering::Release);
            }
        }
        tokio::task::yield_now().await;
    }
    let puts = writer.await.expect("writer");
    assert!(seen_v1 > 0 && seen_v2 > 0, "reads overlapped the writes: saw v1 {seen_v1}, v2 {seen_v2} times in {puts} puts");
    assert!(read_all(store.as_ref(), &key).await.expect("present") == v2);
}

/// Larger than one PUT part of the S3 store: exercises multipart uploads there.
pub async fn large_object_roundtrip(store: Arc<dyn BlobStore>, scratch: &Path) {
    let data = noise(12 * 1024 * 1024 + 123, 6);
    let key = photo_key(&sha_hex(&data));
    store.put_file(&key, &file_with(scratch, "big", &data)).await.expect("put");
    let got = read_all(store.as_ref(), &key).await.expect("present");
    assert_eq!(sha_hex(&got), sha_hex(&data));
}

/// Small objects put from memory read back whole; a listing finds exactly the objects
/// under a prefix (at any depth), with their lengths, and not those beside it.
pub async fn put_bytes_and_list_by_prefix(store: Arc<dyn BlobStore>, _scratch: &Path) {
    let a = noise(1000, 7);
    store.put_bytes("staging/ab/12/0000-03e8", a.clone().into()).await.expect("put");
    store.put_bytes("staging/ab/12/03e8-0002", bytes::Bytes::from_static(b"xy")).await.expect("put");
    store.put_bytes("staging/ab/34/0000-0001", bytes::Bytes::from_static(b"z")).await.expect("put");
    store.put_bytes("staging/abc/0000-0001", bytes::Bytes::from_static(b"q")).await.expect("put");
    assert_eq!(read_all(store.as_ref(), "staging/ab/12/0000-03e8").await.expect("present"), a);
    let mut under = store.list("staging/ab").await.expect("list");
    under.sort_by(|x, y| x.key.cmp(&y.key));
    let got: Vec<(&str, u64)> = under.iter().map(|l| (l.key.as_str(), l.len)).collect();
    assert_eq!(got, [("staging/ab/12/0000-03e8", 1000), ("staging/ab/12/03e8-0002", 2), ("staging/ab/34/0000-0001", 1)]);
    let age = chrono::Utc::now() - under[0].modified;
    assert!(age < chrono::Duration::minutes(5) && age > chrono::Duration::minutes(-5), "modified now: {age}");
    assert!(store.list("staging/none").await.expect("list").is_empty(), "nothing under an unknown prefix");
    store.delete("staging/ab/12/03e8-0002").await.expect("delete");
    assert_eq!(store.list("staging/ab/12").await.expect("list").len(), 1);
    assert!(store.list("../x").await.is_err(), "prefixes are checked like keys");
}

/// An `s3s-fs` server on a free loopback port, serving a temporary directory with one
/// bucket; killed on drop.
pub struct S3sFs {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
    _dir: tempfile::TempDir,
}

pub const S3_ACCESS_KEY: &str = "gridwork-test-ak";
pub const S3_SECRET_KEY: &str = "gridwork-test-sk";

/// `s3s-fs` on PATH or in `~/.cargo/bin`.
pub fn find_s3s_fs() -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("s3s-fs")).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"));
    in_path.into_iter().chain(cargo_home.into_iter().chain(home).map(|d| d.join("bin").join("s3s-fs"))).find(|p| p.is_file())
}

impl S3sFs {
    pub fn start() -> S3sFs {
        let bin = find_s3s_fs().unwrap_or_else(|| {
            panic!("s3s-fs is not installed (looked in PATH and ~/.cargo/bin): run scripts/setup.sh to install it")
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let bucket = "gridwork-test".to_owned();
        std::fs::create_dir_all(dir.path().join(&bucket)).expect("bucket dir");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("s3s-fs exited at start: {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("s3s-fs did not listen on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        S3sFs { child, endpoint: format!("http://127.0.0.1:{port}"), bucket, _dir: dir }
    }

    /// The directory `s3s-fs` keeps the bucket's objects in.
    pub fn bucket_dir(&self) -> PathBuf {
        self._dir.path().join(&self.bucket)
    }

    pub fn config(&self) -> super::s3::S3Config {
        super::s3::S3Config {
            endpoint: Some(self.endpoint.clone()),
            bucket: self.bucket.clone(),
            region: "us-east-1".into(),
            access_key: S3_ACCESS_KEY.into(),
            secret_key: S3_SECRET_KEY.into(),
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `#[tokio::test]` per case for the store made by `$open` (an async fn returning
/// [`Opened`]).
#[macro_export]
macro_rules! blob_conformance {
    ($open:expr) => {
        $crate::blob_conformance!(@cases $open;
            roundtrip_of_3mb_streams_back_identical,
            exists_before_and_after,
            overwrite_is_idempotent,
            delete_removes_and_is_idempotent,
            get_of_a_missing_key_is_none,
            invalid_keys_are_refused,
            concurrent_reader_never_sees_a_partial_object,
            large_object_roundtrip,
            put_bytes_and_list_by_prefix
        );
    };
    (@cases $open:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let opened = $open().await;
                let scratch = tempfile::tempdir().expect("tempdir");
                $crate::blobs::conformance::$case(opened.store.clone(), scratch.path()).await;
                drop(opened);
            }
        )*
    };
}
