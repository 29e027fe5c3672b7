//! HTTPS served by the server itself, for deployments with no reverse proxy in front
//! (`--tls-cert FILE --tls-key FILE`, PEM).
//!
//! - rustls with the aws-lc-rs provider (the one reqwest already brings), TLS 1.2 and 1.3,
//!   HTTP/1.1 and h2 offered by ALPN.
//! - The certificate is picked up again when its files change: [`ReloadingCert`] looks at
//!   them at a handshake at most every [`TlsFiles::reload_every`], and keeps the certificate
//!   it has when the new files are not usable (a warning in the log; never the key).
//! - Handshakes run on their own tasks (with a timeout) so a slow or silent client never
//!   holds up the others; finished connections go to `axum::serve` through [`TlsListener`],
//!   so graceful shutdown and `ConnectInfo<SocketAddr>` are exactly the plain path's.
//! - Every response over HTTPS carries `Strict-Transport-Security`, and every request is
//!   marked `X-Forwarded-Proto: https` (what a reverse proxy would say), which is how the
//!   console knows to set `Secure` cookies and which origin to expect ([`over_tls`]).

use crate::{AppState, RunningServer, app};
use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::serve::{Listener, ListenerExt};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The value of `Strict-Transport-Security` sent over HTTPS (one year).
pub const HSTS: &str = "max-age=31536000";

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 512;

/// The certificate chain and key files, PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server's certificate first, then the intermediates (a `fullchain.pem`).
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often, at most, a handshake looks whether the files changed.
    pub reload_every: Duration,
}

impl TlsFiles {
    /// `cert` and `key`, looked at again at most every 5 seconds.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsFiles {
        TlsFiles { cert: cert.into(), key: key.into(), reload_every: Duration::from_secs(5) }
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<CryptoProvider>> = std::sync::OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())).clone()
}

/// Read and check the chain and key. Errors name the files, never the key's content.
fn load(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let cert_pem = std::fs::read(&files.cert).with_context(|| format!("读取证书文件 {} 失败", files.cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow::anyhow!("证书文件 {} 不是有效的 PEM 证书", files.cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("证书文件 {} 中没有证书 (no CERTIFICATE)", files.cert.display());
    }
    let key_pem = std::fs::read(&files.key).with_context(|| format!("读取私钥文件 {} 失败", files.key.display()))?;
    // The PEM error could quote a line of the file: say only which file.
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| anyhow::anyhow!("私钥文件 {} 中没有可用的 PEM 私钥", files.key.display()))?;
    CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| anyhow::anyhow!("证书与私钥不可用或不匹配 ({}, {}): {e}", files.cert.display(), files.key.display()))
}

/// What the files look like without reading them: changed when any part differs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp([Option<(SystemTime, u64, u64)>; 2]);

fn stamp(files: &TlsFiles) -> Stamp {
    fn one(path: &Path) -> Option<(SystemTime, u64, u64)> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some((m.modified().ok()?, m.len(), inode))
    }
    Stamp([one(&files.cert), one(&files.key)])
}

/// The server's certificate, read again from its files when they change.
pub struct ReloadingCert {
    files: TlsFiles,
    current: Mutex<Current>,
}

struct Current {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
    checked: Instant,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert").field("cert", &self.files.cert).field("key", &self.files.key).finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// The certificate in `files` now; an error if they are not usable.
    pub fn open(files: TlsFiles) -> anyhow::Result<ReloadingCert> {
        let stamp = stamp(&files);
        let key = Arc::new(load(&files)?);
        Ok(ReloadingCert { files, current: Mutex::new(Current { key, stamp, checked: Instant::now() }) })
    }

    /// The certificate to serve: the files' new one if they changed and are usable.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if cur.checked.elapsed() >= self.files.reload_every {
            cur.checked = Instant::now();
            let now = stamp(&self.files);
            if now != cur.stamp {
                // Judged once per change: a half-written pair is looked at again when the
                // second file lands, since that changes the stamp once more.
                cur.stamp = now;
                match load(&self.files) {
                    Ok(key) => {
                        tracing::info!(cert = %self.files.cert.display(), "reloaded the TLS certificate");
                        cur.key = Arc::new(key);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the changed TLS certificate or key is not usable; still serving the previous one")
                    }
                }
            }
        }
        cur.key.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The TLS side of a server: rustls over [`ReloadingCert`], h2 and HTTP/1.1 by ALPN.
pub fn acceptor(files: TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let resolver = ReloadingCert::open(files)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// TLS connections whose handshake has finished, for `axum::serve`. Dropping it stops the
/// accept task (and so closes the socket).
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener { ready, local, accepting })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match tcp.accept().await {
            Ok(conn) => conn,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // As axum's own listener: out of file descriptors and the like; wait a little.
                tracing::error!(error = %e, "accept error");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            drop(permit);
            match handshake {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                // Plain HTTP to this port, scanners, clients that do not trust the certificate.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// `router` as served over HTTPS: every request marked `X-Forwarded-Proto: https` (a
/// client's own value replaced: there is no proxy in front), every response with HSTS.
pub fn over_tls(router: Router) -> Router {
    router.layer(axum::middleware::map_request(mark_https)).layer(axum::middleware::map_response(add_hsts))
}

async fn mark_https(mut req: Request) -> Request {
    req.headers_mut().insert("x-forwarded-proto", HeaderValue::from_static("https"));
    req
}

async fn add_hsts(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    resp
}

/// Serve an already built state over HTTPS on `addr`, with the certificate in `files`
/// (checked now: a server that cannot serve its certificate does not start).
pub async fn start_with_state_tls(state: AppState, addr: SocketAddr, files: TlsFiles) -> anyhow::Result<RunningServer> {
    let acceptor = acceptor(files)?;
    let tcp = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    // `tap_io` makes axum give handlers the peer's `ConnectInfo<SocketAddr>`, as on plain TCP.
    let listener = TlsListener::new(tcp, acceptor)?.tap_io(|_| {});
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = over_tls(app(state.clone()));
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "listening (https)");
    Ok(RunningServer::new(addr, state, stop, task, true))
}
