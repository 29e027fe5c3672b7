//! Photo uploads on a real socket: a connection cut in the middle of an append keeps what
//! arrived and the device resumes from there; and the whole exchange with the S3 blob
//! store against a real `s3s-fs` process.

use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, RecordBody, Role};
use gridwork_core::protocol::{
    LoginRequest, LoginResponse, Outcome, PushRequest, PushResponse, UploadStart, UploadStatus, paths,
};
use gridwork_server::auth::{DEVICE_HEADER, Passwords};
use gridwork_server::blobs::s3::S3Config;
use gridwork_server::seed::{NewUser, add_user, ensure_reference};
use gridwork_server::{BlobConfig, RunningServer, ServerConfig, open_store, start};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const PASSWORD: &str = "网格员的密码123";

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    device: Uuid,
}

impl Client {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(DEVICE_HEADER, self.device.to_string())
    }

    async fn start(&self, sha256: &str, size: u64) -> UploadStatus {
        let r = self
            .req(reqwest::Method::POST, paths::UPLOADS)
            .json(&UploadStart { sha256: sha256.into(), size })
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
        r.json().await.expect("status")
    }

    async fn patch(&self, sha256: &str, offset: u64, bytes: Vec<u8>) -> UploadStatus {
        let r = self
            .req(reqwest::Method::PATCH, &format!("{}{sha256}", paths::UPLOAD_PREFIX))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(bytes)
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status(), 200);
        r.json().await.expect("status")
    }

    async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.req(reqwest::Method::GET, path).send().await.expect("get");
        (r.status().as_u16(), r.bytes().await.expect("body").to_vec())
    }
}

async fn serve(config: ServerConfig) -> (RunningServer, Client) {
    {
        let storage = open_store(config.data_dir.clone()).await.expect("open");
        ensure_reference(storage.as_ref()).await.expect("reference");
        let new = NewUser {
            username: "grid.kw01".into(),
            display_name: "孙丽娜".into(),
            role: Role::GridWorker,
            scope: fixtures::GRID.into(),
            password: PASSWORD.into(),
        };
        add_user(storage.as_ref(), Arc::new(Passwords::insecure_fast_for_tests()), new).await.expect("user");
        storage.close().await.expect("close");
    }
    let server = start(config).await.expect("start");
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let device = Uuid::now_v7();
    let r = http
        .post(format!("{base}{}", paths::LOGIN))
        .json(&LoginRequest { username: "grid.kw01".into(), password: PASSWORD.into(), device_id: device, device_name: None })
        .send()
        .await
        .expect("login");
    let token = r.json::<LoginResponse>().await.expect("login body").token;
    (server, Client { http, base, token, device })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503);
        image::Rgb([(v >> 24) as u8, (v >> 8) as u8, (x ^ y) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95).encode_image(&img).expect("encode");
    out.into_inner()
}

async fn push_report(c: &Client, bytes: &[u8], sha256: &str, width: u32, height: u32) {
    let mut rec = fixtures::records().remove(0);
    rec.id = Uuid::now_v7();
    if let RecordBody::Report(r) = &mut rec.body {
        r.photos = vec![PhotoRef {
            sha256: sha256.into(),
            mime: "image/jpeg".into(),
            bytes: bytes.len() as u64,
            width,
            height,
            taken_at: None,
            lat: None,
            lon: None,
            stage: None,
        }];
    }
    let ops = vec![fixtures::create_op(rec, Hlc::new(1_700_000_000_000, 0, "dev1"))];
    let r = c.req(reqwest::Method::POST, paths::PUSH).json(&PushRequest { ops }).send().await.expect("push");
    let pushed: PushResponse = r.json().await.expect("push body");
    assert_eq!(pushed.results[0].outcome, Outcome::Accepted, "{pushed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_keeps_the_bytes_received_and_the_upload_resumes_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, c) = serve(ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"))).await;
    let bytes = jpeg(1600, 1200);
    let sha = hex::encode(Sha256::digest(&bytes));
    push_report(&c, &bytes, &sha, 1600, 1200).await;
    assert_eq!(c.start(&sha, bytes.len() as u64).await.offset, 0);

    // Headers announcing the whole photo, half the bytes, then the connection drops.
    let half = bytes.len() / 2;
    let mut sock = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "PATCH {}{sha} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n{DEVICE_HEADER}: {}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        paths::UPLOAD_PREFIX,
        server.addr,
        c.token,
        c.device,
        bytes.len()
    );
    sock.write_all(head.as_bytes()).await.expect("head");
    sock.write_all(&bytes[..half]).await.expect("half the body");
    sock.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(sock);

    // The server notices the broken connection and keeps the half.
    let deadline = Instant::now() + Duration::from_secs(10);
    let offset = loop {
        let s = c.start(&sha, bytes.len() as u64).await;
        if s.offset == half as u64 || Instant::now() > deadline {
            break s.offset;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(offset, half as u64);
    let (status, _) = c.get(&format!("{}{sha}", paths::PHOTO_PREFIX)).await;
    assert_eq!(status, 404, "not served while incomplete");

    // Resume: only the rest is sent, so the upload costs one photo's worth of bytes in all.
    let s = c.patch(&sha, offset, bytes[half..].to_vec()).await;
    assert!(s.complete);
    let sent = half + (bytes.len() - half);
    assert!(sent as f64 <= bytes.len() as f64 * 1.05);
    let (status, got) = c.get(&format!("{}{sha}", paths::PHOTO_PREFIX)).await;
    assert_eq!(status, 200);
    assert!(got == bytes, "served bytes differ");
    assert!(!dir.path().join("uploads").join(format!("{sha}.part")).exists());
    assert!(dir.path().join("blobs/photos").join(&sha[..2]).join(&sha).exists());
    server.shutdown().await;
}

/// `s3s-fs` on a free port serving a temp dir with one bucket; killed on drop.
struct S3sFs {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

fn find_s3s_fs() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(c) = std::env::var_os("CARGO_HOME") {
        dirs.push(Path::new(&c).join("bin"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(Path::new(&h).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("s3s-fs")).find(|p| p.is_file())
}

impl S3sFs {
    fn start(bucket: &str) -> S3sFs {
        let bin =
            find_s3s_fs().expect("s3s-fs is not installed (looked in PATH and ~/.cargo/bin): run scripts/setup.sh to install it");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join(bucket)).expect("bucket");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", "AK", "--secret-key", "SK"])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn s3s-fs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().expect("wait").is_none(), "s3s-fs exited at start");
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        S3sFs { child, port, root }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_go_to_and_come_from_an_s3_bucket() {
    let s3 = S3sFs::start("gridwork-photos");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
    config.blobs = BlobConfig::S3(S3Config {
        endpoint: Some(format!("http://127.0.0.1:{}", s3.port)),
        bucket: "gridwork-photos".into(),
        region: "us-east-1".into(),
        access_key: "AK".into(),
        secret_key: "SK".into(),
    });
    let (server, c) = serve(config).await;
    let bytes = jpeg(1000, 750);
    let sha = hex::encode(Sha256::digest(&bytes));
    push_report(&c, &bytes, &sha, 1000, 750).await;
    assert_eq!(c.start(&sha, bytes.len() as u64).await.offset, 0);
    let third = bytes.len() / 3;
    assert_eq!(c.patch(&sha, 0, bytes[..third].to_vec()).await.offset, third as u64);
    assert!(c.patch(&sha, third as u64, bytes[third..].to_vec()).await.complete);
    // The objects are in the bucket, not in the data directory.
    let bucket = s3.root.path().join("gridwork-photos");
    assert!(bucket.join("photos").join(&sha[..2]).join(&sha).is_file());
    assert!(bucket.join("thumbs").join(&sha[..2]).join(&sha).is_file());
    assert!(!dir.path().join("blobs/photos").exists());
    let (status, got) = c.get(&format!("{}{sha}", paths::PHOTO_PREFIX)).await;
    assert_eq!(status, 200);
    assert!(got == bytes, "bytes differ");
    let (status, thumb) = c.get(&format!("{}{sha}/thumb", paths::PHOTO_PREFIX)).await;
    assert_eq!(status, 200);
    let thumb = image::load_from_memory(&thumb).expect("thumbnail");
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    // Known to the bucket: a second upload is complete at once.
    assert!(c.start(&sha, bytes.len() as u64).await.complete);
    server.shutdown().await;
}
