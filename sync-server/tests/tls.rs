//! HTTPS served by the server itself, on real sockets: a throwaway CA and server
//! certificates for 127.0.0.1 made here, a client that trusts only that CA.

use gridwork_core::fixtures;
use gridwork_core::model::Role;
use gridwork_core::protocol::{LoginResponse, paths};
use gridwork_server::service::accounts::NewUser;
use gridwork_server::tls::{HSTS, TlsFiles};
use gridwork_server::{RunningServer, ServerConfig, start};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

const PASSWORD: &str = "网格员的密码123";

/// A certificate authority that exists only for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, PEM, and the certificate's DER (what a client sees).
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "gridwork test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA certificate");
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for 127.0.0.1 and localhost, with a key of its own.
    fn leaf(&self) -> Leaf {
        self.leaf_with(KeyPair::generate().expect("server key"))
    }

    fn leaf_with(&self, key: KeyPair) -> Leaf {
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, "gridwork test server");
        let cert = params.signed_by(&key, &self.issuer).expect("server certificate");
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem(), der: cert.der().to_vec() }
    }
}

impl Leaf {
    fn write(&self, dir: &Path) -> TlsFiles {
        std::fs::write(dir.join("cert.pem"), &self.cert_pem).expect("write cert");
        std::fs::write(dir.join("key.pem"), &self.key_pem).expect("write key");
        files(dir)
    }
}

/// The files in `dir`, looked at again at every handshake.
fn files(dir: &Path) -> TlsFiles {
    TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem"), reload_every: Duration::ZERO }
}

/// A client trusting only `ca`, telling the served certificate.
fn client(ca: &Ca) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA pem")])
        .tls_info(true)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

async fn add_grid_worker(data: &Path) {
    let new = NewUser {
        username: "grid.kw01".into(),
        display_name: "孙丽娜".into(),
        role: Role::GridWorker,
        scope: fixtures::GRID.into(),
        password: PASSWORD.into(),
    };
    gridwork_server::testing::add_users(data, vec![new]).await;
}

async fn start_server(data: &Path, tls: Option<TlsFiles>) -> RunningServer {
    add_grid_worker(data).await;
    let mut config = ServerConfig::new(data, "127.0.0.1:0".parse().expect("addr"));
    config.tls = tls;
    start(config).await.expect("start")
}

/// The DER of the certificate served at `url` to a new client trusting `ca` (a new client:
/// no TLS session to resume, so the server picks its certificate again).
async fn served_cert(ca: &Ca, url: &str) -> Vec<u8> {
    let resp = client(ca).get(format!("{url}/healthz")).send().await.expect("healthz over https");
    assert_eq!(resp.status(), 200);
    let info = resp.extensions().get::<reqwest::tls::TlsInfo>().expect("tls info");
    info.peer_certificate().expect("a peer certificate").to_vec()
}

struct Dirs {
    _root: tempfile::TempDir,
    data: PathBuf,
    tls: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().expect("tempdir");
    let (data, tls) = (root.path().join("data"), root.path().join("tls"));
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(&tls).expect("tls dir");
    Dirs { _root: root, data, tls }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_health_login_and_the_console_with_hsts() {
    let d = dirs();
    let ca = Ca::new();
    let leaf = ca.leaf();
    let server = start_server(&d.data, Some(leaf.write(&d.tls))).await;
    let url = server.url();
    assert_eq!(url, format!("https://{}", server.addr));
    let client = client(&ca);

    let health = client.get(format!("{url}/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers().get("strict-transport-security").expect("hsts"), HSTS);
    assert_eq!(health.version(), reqwest::Version::HTTP_2, "h2 by ALPN");

    let login = client
        .post(format!("{url}{}", paths::LOGIN))
        .json(&serde_json::json!({ "username": "grid.kw01", "password": PASSWORD, "device_id": Uuid::now_v7() }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers().get("strict-transport-security").expect("hsts on the API"), HSTS);
    assert!(!login.json::<LoginResponse>().await.expect("login body").token.is_empty());

    // The console: strict CSP, HSTS, and its cookies `Secure` (it knows it is on HTTPS).
    let page = client.get(format!("{url}/admin/login")).send().await.expect("console");
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h.get("strict-transport-security").expect("hsts on the console"), HSTS);
    let csp = h.get("content-security-policy").expect("csp").to_str().expect("ascii");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    let cookie = h.get("set-cookie").expect("login cookie").to_str().expect("ascii");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Every response, even a 404.
    let missing = client.get(format!("{url}/no/such/page")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers().get("strict-transport-security").expect("hsts on a 404"), HSTS);

    // HTTP/1.1 is offered too.
    let h1 = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA pem")])
        .http1_only()
        .build()
        .expect("client");
    let resp = h1.get(format!("{url}/healthz")).send().await.expect("healthz over http/1.1");
    assert_eq!((resp.status().as_u16(), resp.version()), (200, reqwest::Version::HTTP_11));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_sends_no_hsts_and_its_cookies_are_not_secure() {
    let d = dirs();
    let server = start_server(&d.data, None).await;
    assert_eq!(server.url(), format!("http://{}", server.addr));
    let client = reqwest::Client::new();
    let health = client.get(format!("{}/healthz", server.url())).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(health.headers().get("strict-transport-security").is_none());
    let page = client.get(format!("{}/admin/login", server.url())).send().await.expect("console");
    assert!(page.headers().get("strict-transport-security").is_none());
    assert!(page.headers().get("content-security-policy").is_some());
    let cookie = page.headers().get("set-cookie").expect("login cookie").to_str().expect("ascii");
    assert!(!cookie.contains("Secure"), "{cookie}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails_at_once() {
    let d = dirs();
    let ca = Ca::new();
    let server = start_server(&d.data, Some(ca.leaf().write(&d.tls))).await;
    let started = Instant::now();
    let plain = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client");
    let err = plain.get(format!("http://{}/healthz", server.addr)).send().await.expect_err("plain http to https");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    // A client trusting another CA is refused too, and the server goes on serving.
    let other = client(&Ca::new());
    let err = other.get(format!("{}/healthz", server.url())).send().await.expect_err("untrusted certificate");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(!served_cert(&ca, &server.url()).await.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_certificate_files_are_served_to_new_connections() {
    let d = dirs();
    let ca = Ca::new();
    let first = ca.leaf();
    let server = start_server(&d.data, Some(first.write(&d.tls))).await;
    let url = server.url();
    assert_eq!(served_cert(&ca, &url).await, first.der);

    let second = ca.leaf();
    second.write(&d.tls);
    assert_eq!(served_cert(&ca, &url).await, second.der, "the new certificate");

    // Not PEM at all: the previous certificate is kept.
    std::fs::write(d.tls.join("cert.pem"), "not a certificate").expect("write");
    assert_eq!(served_cert(&ca, &url).await, second.der, "an unreadable cert keeps the old one");

    // A certificate that does not belong to the key: kept too.
    std::fs::write(d.tls.join("cert.pem"), &ca.leaf().cert_pem).expect("write");
    assert_eq!(served_cert(&ca, &url).await, second.der, "a mismatched pair keeps the old one");

    // A missing key: kept.
    std::fs::remove_file(d.tls.join("key.pem")).expect("remove key");
    assert_eq!(served_cert(&ca, &url).await, second.der, "a missing key keeps the old one");

    // A valid pair again, replaced by rename as certificate tools do.
    let third = ca.leaf();
    std::fs::write(d.tls.join("key.new"), &third.key_pem).expect("write");
    std::fs::write(d.tls.join("cert.new"), &third.cert_pem).expect("write");
    std::fs::rename(d.tls.join("key.new"), d.tls.join("key.pem")).expect("rename");
    std::fs::rename(d.tls.join("cert.new"), d.tls.join("cert.pem")).expect("rename");
    assert_eq!(served_cert(&ca, &url).await, third.der, "the renamed-in pair");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_files_stop_the_start_without_showing_the_key() {
    let d = dirs();
    let ca = Ca::new();
    let leaf = ca.leaf();
    add_grid_worker(&d.data).await;
    let try_start = |files: TlsFiles| {
        let mut config = ServerConfig::new(&d.data, "127.0.0.1:0".parse().expect("addr"));
        config.tls = Some(files);
        start(config)
    };

    // A key whose PEM is damaged: the error names the file, not its content.
    let files = leaf.write(&d.tls);
    let damaged = leaf.key_pem.replace("-----END PRIVATE KEY-----", "");
    std::fs::write(&files.key, &damaged).expect("write");
    let err = format!("{:#}", try_start(files.clone()).await.err().expect("a damaged key is refused"));
    assert!(err.contains("key.pem"), "{err}");
    let body_line = damaged.lines().nth(1).expect("a base64 line");
    assert!(!err.contains(body_line), "the key leaked into the error: {err}");

    // Cert and key of different pairs.
    std::fs::write(&files.key, ca.leaf().key_pem).expect("write");
    let err = format!("{:#}", try_start(files.clone()).await.err().expect("a mismatched pair is refused"));
    assert!(err.contains("不匹配"), "{err}");

    // No certificate file.
    std::fs::remove_file(&files.cert).expect("remove");
    assert!(try_start(files).await.is_err());
}
