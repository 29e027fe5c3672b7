//! Devices and HTTPS: the real server process serving TLS itself (`--tls-cert`/`--tls-key`)
//! with a certificate from a throwaway CA, and device cores that trust that CA through the
//! machine's roots (`SSL_CERT_FILE`, as a private CA would be installed); and devices that
//! refuse plain HTTP to another machine.

use gridwork_core::model::RecordKind;
use gridwork_core::{Device, DeviceConfig, Error};
use gridwork_e2e::{KW_GRID, PASSWORD, listening_url, report, server_bin};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Write a CA (`ca.pem`) and a server certificate for 127.0.0.1/localhost signed by it
/// (`cert.pem`, `key.pem`) into `dir`.
fn make_certificates(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "gridwork e2e CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write CA");
    std::fs::write(dir.join("cert.pem"), leaf.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write key");
}

/// `gridwork-server demo` serving HTTPS; killed when dropped.
struct TlsServer {
    child: Child,
    url: String,
}

impl TlsServer {
    fn start(data: &Path, tls: &Path) -> TlsServer {
        let mut child = Command::new(server_bin())
            .args(["demo", "--data"])
            .arg(data)
            .args(["--addr", "127.0.0.1:0", "--tls-cert"])
            .arg(tls.join("cert.pem"))
            .arg("--tls-key")
            .arg(tls.join("key.pem"))
            .env("GRIDWORK_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start gridwork-server");
        let url = listening_url(&mut child).expect("the server's address");
        TlsServer { child, url }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device(dir: &Path, name: &str, url: &str, allow_plain_http: bool) -> Result<Device, Error> {
    Device::open(DeviceConfig {
        db_path: dir.join(format!("{name}.db")),
        server_url: url.to_owned(),
        db_key: None,
        allow_plain_http,
    })
}

/// One test in this binary: it sets `SSL_CERT_FILE` for the whole process, before any
/// other thread runs.
#[test]
fn devices_sync_over_https_and_refuse_plain_http_to_other_machines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    make_certificates(&tls);
    // SAFETY: no other thread exists yet in this test binary's only test.
    unsafe { std::env::set_var("SSL_CERT_FILE", tls.join("ca.pem")) };

    // Plain HTTP: refused to another machine unless the app allows it; loopback is fine.
    for url in ["http://10.0.0.5:8080", "http://gw.example.cn"] {
        match device(dir.path(), "plain", url, false) {
            Err(Error::Argument(m)) => assert!(m.contains("plain_http_refused"), "{m}"),
            other => panic!("{url}: {:?}", other.err()),
        }
    }
    device(dir.path(), "allowed", "http://10.0.0.5:8080", true).expect("allowed by the app");
    device(dir.path(), "loopback", "http://127.0.0.1:8080", false).expect("loopback");

    // The server refuses a certificate without its key.
    let out = Command::new(server_bin())
        .args(["serve", "--data"])
        .arg(dir.path().join("refused"))
        .arg("--tls-cert")
        .arg(tls.join("cert.pem"))
        .env("GRIDWORK_LOG", "warn")
        .env_remove("GRIDWORK_TLS_KEY")
        .output()
        .expect("run gridwork-server");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"), "{}", String::from_utf8_lossy(&out.stderr));

    let server = TlsServer::start(&dir.path().join("server"), &tls);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let worker = device(dir.path(), "worker", &server.url, false).expect("open");
        worker.login("grid.kw01", PASSWORD).await.expect("login over https");
        let made = worker.create(report(&worker, KW_GRID, "胜利东街早市占道经营")).expect("report");
        let rep = worker.sync().await.expect("sync over https");
        assert_eq!((rep.pushed, rep.accepted, rep.rejected), (1, 1, 0));

        // The same server by name: the certificate names localhost too.
        let url = server.url.replace("127.0.0.1", "localhost");
        let admin = device(dir.path(), "admin", &url, false).expect("open");
        admin.login("admin", PASSWORD).await.expect("admin login over https");
        admin.sync().await.expect("admin sync");
        let got = admin.get(made.id).expect("get").expect("the report reached the admin");
        assert_eq!(got.record.record.kind(), RecordKind::Report);
    });
}
