//! Photo uploads on a real socket: a connection cut in the middle of an append keeps what
//! arrived and the device resumes from there; and the whole exchange with the S3 blob
//! store against a real `s3s-fs` process.

use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{PhotoRef, RecordBody, Role};
use gridwork_core::protocol::DEVICE_HEADER;
use gridwork_core::protocol::{
    LoginRequest, LoginResponse, Outcome, PushRequest, PushResponse, UploadStart, UploadStatus, paths,
};
use gridwork_server::blobs::conformance::S3sFs;
use gridwork_server::service::accounts::NewUser;
use gridwork_server::{BlobConfig, RunningServer, ServerConfig, start};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    let new = NewUser {
        username: "grid.kw01".into(),
        display_name: "孙丽娜".into(),
        role: Role::GridWorker,
        scope: fixtures::GRID.into(),
        password: PASSWORD.into(),
    };
    gridwork_server::testing::add_users(&config.data_dir, vec![new]).await;
    let server = start(config).await.expect("start");
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let device = Uuid::now_v7();
    let r = http
        .post(format!("{base}{}", paths::LOGIN))
        .json(&LoginRequest {
            username: "grid.kw01".into(),
            password: PASSWORD.into(),
            device_id: device,
            device_name: None,
            device_key: None,
        })
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
    let r = c.req(reqwest::Method::POST, paths::PUSH).json(&PushRequest { ops, sigs: vec![] }).send().await.expect("push");
    let pushed: PushResponse = r.json().await.expect("push body");
    assert_eq!(pushed.results[0].outcome, Outcome::Accepted, "{pushed:?}");
}

/// A TCP relay to `target` that counts the bytes clients send through it.
struct CountingProxy {
    addr: SocketAddr,
    sent: Arc<AtomicU64>,
}

async fn counting_proxy(target: SocketAddr) -> CountingProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    CountingProxy { addr, sent }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_keeps_the_bytes_received_and_the_upload_resumes_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, c) = serve(ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"))).await;
    let bytes = jpeg(1600, 1200);
    let sha = hex::encode(Sha256::digest(&bytes));
    push_report(&c, &bytes, &sha, 1600, 1200).await;
    // The whole upload goes through a proxy that counts what the device sends.
    let proxy = counting_proxy(server.addr).await;
    let c = Client { base: format!("http://{}", proxy.addr), ..c };
    assert_eq!(c.start(&sha, bytes.len() as u64).await.offset, 0);

    // Headers announcing the whole photo, half the bytes, then the connection drops.
    let half = bytes.len() / 2;
    let mut sock = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
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

    // Resume from the offset the server gives: the upload costs one photo's worth of bytes
    // in all (what crossed the wire, headers and polls included), not one and a half.
    let s = c.patch(&sha, offset, bytes[offset as usize..].to_vec()).await;
    assert!(s.complete);
    let sent = proxy.sent.load(Ordering::Relaxed);
    assert!(sent >= bytes.len() as u64, "the proxy saw the photo go through ({sent} B)");
    assert!(sent as f64 <= bytes.len() as f64 * 1.05, "sent {sent} B for a photo of {} B", bytes.len());
    let (status, got) = c.get(&format!("{}{sha}", paths::PHOTO_PREFIX)).await;
    assert_eq!(status, 200);
    assert!(got == bytes, "served bytes differ");
    assert!(!dir.path().join("uploads").join(format!("{sha}.part")).exists());
    assert!(dir.path().join("blobs/photos").join(&sha[..2]).join(&sha).exists());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_go_to_and_come_from_an_s3_bucket() {
    let s3 = S3sFs::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
    config.blobs = BlobConfig::S3(s3.config());
    let (server, c) = serve(config).await;
    let bytes = jpeg(1000, 750);
    let sha = hex::encode(Sha256::digest(&bytes));
    push_report(&c, &bytes, &sha, 1000, 750).await;
    assert_eq!(c.start(&sha, bytes.len() as u64).await.offset, 0);
    let third = bytes.len() / 3;
    assert_eq!(c.patch(&sha, 0, bytes[..third].to_vec()).await.offset, third as u64);
    assert!(c.patch(&sha, third as u64, bytes[third..].to_vec()).await.complete);
    // The objects are in the bucket, not in the data directory.
    let bucket = s3.bucket_dir();
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
