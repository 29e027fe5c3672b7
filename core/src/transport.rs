//! The sync protocol over HTTP: JSON bodies, gzip both ways (done here rather than by the
//! HTTP client so that the bytes on the wire can be counted), typed errors. A leaf: it
//! knows the protocol's types and the error enum, nothing of the store or the engines.
//!
//! The bytes travel through an [`HttpClient`]: reqwest by default, or anything else that
//! answers HTTP (the tests pass the server's router itself). Compressing, and decoding
//! large answers, runs on the blocking pool, off the thread that polls the sync.

use crate::error::{Error, Result};
use crate::events::WireBytes;
use crate::protocol::{self, ErrorBody, paths};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use crate::protocol::DEVICE_HEADER;

/// A boxed future, for the object-safe [`HttpClient`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Bodies at least this large are (de)compressed and decoded on the blocking pool.
const OFF_THREAD_BYTES: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
}

/// One request as it goes on the wire.
#[derive(Debug)]
pub struct HttpRequest {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

/// An answer: status, the headers the protocol reads, the body as it arrives.
pub struct HttpResponse {
    pub status: u16,
    /// `Content-Encoding: gzip`.
    pub gzipped: bool,
    pub body: Box<dyn ResponseBody>,
}

/// A response body, chunk by chunk (`None` at the end).
pub trait ResponseBody: Send {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>>>;
}

/// Sends HTTP requests. Implemented by [`ReqwestClient`]; tests implement it over the
/// server's router to run the real engines against a real server in-process.
pub trait HttpClient: Send + Sync {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse>>;
}

/// The default client. Built on first use: opening a device offline must not depend on
/// the TLS setup (a CA store) of the machine.
#[derive(Default)]
pub struct ReqwestClient {
    http: std::sync::OnceLock<reqwest::Client>,
}

impl ReqwestClient {
    fn client(&self) -> Result<&reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let built = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(self.http.get_or_init(|| built))
    }
}

struct ReqwestBody(reqwest::Response);

impl ResponseBody for ReqwestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>>> {
        Box::pin(async move { Ok(self.0.chunk().await?.map(|b| b.to_vec())) })
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse>> {
        Box::pin(async move {
            let method = match request.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
                Method::Patch => reqwest::Method::PATCH,
            };
            let mut req = self.client()?.request(method, &request.url);
            for (name, value) in request.headers {
                req = req.header(name, value);
            }
            if let Some(body) = request.body {
                req = req.body(body);
            }
            let resp = req.send().await?;
            let gzipped =
                resp.headers().get(reqwest::header::CONTENT_ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            Ok(HttpResponse { status: resp.status().as_u16(), gzipped, body: Box::new(ReqwestBody(resp)) })
        })
    }
}

/// Credentials of one request.
#[derive(Clone, Copy)]
pub struct Auth<'a> {
    pub token: &'a str,
    pub device_id: &'a str,
}

/// A request body as it goes on the wire.
struct Outgoing {
    bytes: Vec<u8>,
    content_type: &'static str,
    gzip: bool,
    offset: Option<u64>,
}

fn error_of(status: u16, body: &[u8], authenticated: bool) -> Error {
    if status == 401 && authenticated {
        return Error::Unauthorized;
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => ("http_error".to_owned(), format!("HTTP {status}")),
    };
    Error::Server { status, code, message }
}

/// Run `f` on the blocking pool when the data is large, else here.
async fn maybe_off_thread<T: Send + 'static>(large: bool, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    if large { tokio::task::spawn_blocking(f).await.map_err(|e| Error::Io(format!("worker: {e}")))? } else { f() }
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() * 4);
    GzDecoder::new(raw).read_to_end(&mut out).map_err(|e| Error::Decode(e.to_string()))?;
    Ok(out)
}

/// A JSON answer: gunzipped and decoded (off the polling thread when large).
async fn decode<T: DeserializeOwned + Send + 'static>(raw: Vec<u8>, gzipped: bool) -> Result<T> {
    // JSON compresses about tenfold: judge a gzipped body by what it will become.
    let large = raw.len() >= if gzipped { OFF_THREAD_BYTES / 8 } else { OFF_THREAD_BYTES };
    maybe_off_thread(large, move || {
        let bytes = if gzipped { gunzip(&raw)? } else { raw };
        Ok(serde_json::from_slice(&bytes)?)
    })
    .await
}

pub struct Transport {
    client: Arc<dyn HttpClient>,
    base: String,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("base", &self.base).finish_non_exhaustive()
    }
}

/// Is `url`'s host this machine: `localhost`, 127.0.0.0/8 or `::1`?
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Check a server URL: `https://` to anywhere, `http://` only to this machine (loopback)
/// unless `allow_plain_http` (the app chose a server without TLS, e.g. on a closed network).
pub fn check_server_url(server_url: &str, allow_plain_http: bool) -> Result<()> {
    let url = reqwest::Url::parse(server_url.trim_end_matches('/'))
        .map_err(|_| Error::Argument("服务器地址无效 (server_url)".into()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Argument("服务器地址应以 http:// 或 https:// 开头 (server_url)".into()));
    }
    if url.scheme() == "http" && !allow_plain_http && !is_loopback(&url) {
        return Err(Error::Argument("不安全的连接：仅允许 https:// 或本机地址 (plain_http_refused)".into()));
    }
    Ok(())
}

impl Transport {
    /// HTTP to `server_url` with the default client; see [`check_server_url`].
    pub fn new(server_url: &str, allow_plain_http: bool) -> Result<Transport> {
        Self::with_client(server_url, Arc::new(ReqwestClient::default()), allow_plain_http)
    }

    /// `server_url` through `client`; see [`check_server_url`].
    pub fn with_client(server_url: &str, client: Arc<dyn HttpClient>, allow_plain_http: bool) -> Result<Transport> {
        check_server_url(server_url, allow_plain_http)?;
        Ok(Transport { client, base: server_url.trim_end_matches('/').to_owned() })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One JSON request (body gzip-compressed) and its JSON answer.
    async fn call<Req: Serialize, Resp: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        path_and_query: &str,
        auth: Option<Auth<'_>>,
        body: Option<&Req>,
    ) -> Result<(Resp, WireBytes)> {
        let outgoing = match body {
            Some(b) => {
                let json = serde_json::to_vec(b)?;
                let bytes = maybe_off_thread(json.len() >= OFF_THREAD_BYTES, move || {
                    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
                    gz.write_all(&json).map_err(|e| Error::Decode(e.to_string()))?;
                    gz.finish().map_err(|e| Error::Decode(e.to_string()))
                })
                .await?;
                Some(Outgoing { bytes, content_type: "application/json", gzip: true, offset: None })
            }
            None => None,
        };
        let (raw, gzipped, status, wire) = self.exchange(method, path_and_query, auth, outgoing).await?;
        if status == 204 {
            return Ok((serde_json::from_slice(b"null")?, wire));
        }
        Ok((decode(raw, gzipped).await?, wire))
    }

    /// A request to `path_and_query` with the protocol's headers.
    fn request(&self, method: Method, path_and_query: &str, auth: Option<Auth<'_>>) -> HttpRequest {
        let mut headers = vec![("accept-encoding", "gzip".to_owned())];
        if let Some(a) = auth {
            headers.push(("authorization", format!("Bearer {}", a.token)));
            headers.push((DEVICE_HEADER, a.device_id.to_owned()));
        }
        HttpRequest { method, url: format!("{}{}", self.base, path_and_query), headers, body: None }
    }

    /// Send one request and read the whole answer (small answers only: JSON). An error
    /// status is decoded into its typed error here.
    async fn exchange(
        &self,
        method: Method,
        path_and_query: &str,
        auth: Option<Auth<'_>>,
        body: Option<Outgoing>,
    ) -> Result<(Vec<u8>, bool, u16, WireBytes)> {
        let mut req = self.request(method, path_and_query, auth);
        let mut wire = WireBytes::default();
        if let Some(b) = body {
            wire.sent = b.bytes.len() as u64;
            req.headers.push(("content-type", b.content_type.to_owned()));
            if b.gzip {
                req.headers.push(("content-encoding", "gzip".to_owned()));
            }
            if let Some(offset) = b.offset {
                req.headers.push((protocol::UPLOAD_OFFSET_HEADER, offset.to_string()));
            }
            req.body = Some(b.bytes);
        }
        let answer = self.client.send(req).await?;
        let (status, gzipped) = (answer.status, answer.gzipped);
        let raw = read_all(answer.body).await?;
        wire.received = raw.len() as u64;
        if (200..300).contains(&status) {
            return Ok((raw, gzipped, status, wire));
        }
        let bytes = if gzipped { gunzip(&raw)? } else { raw };
        Err(error_of(status, &bytes, auth.is_some()))
    }

    /// Start or resume the upload of a photo: how much the server already has.
    pub async fn upload_start(&self, auth: Auth<'_>, req: &protocol::UploadStart) -> Result<(protocol::UploadStatus, WireBytes)> {
        self.call(Method::Post, paths::UPLOADS, Some(auth), Some(req)).await
    }

    /// Append `chunk` at `offset` of the photo `sha256`.
    pub async fn upload_append(
        &self,
        auth: Auth<'_>,
        sha256: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<(protocol::UploadStatus, WireBytes)> {
        let path = format!("{}{sha256}", paths::UPLOAD_PREFIX);
        let body = Outgoing { bytes: chunk, content_type: "application/offset+octet-stream", gzip: false, offset: Some(offset) };
        let (raw, gzipped, _, wire) = self.exchange(Method::Patch, &path, Some(auth), Some(body)).await?;
        Ok((decode(raw, gzipped).await?, wire))
    }

    /// A photo (or its thumbnail) as it arrives, chunk by chunk.
    pub async fn download(&self, auth: Auth<'_>, sha256: &str, thumb: bool) -> Result<Box<dyn ResponseBody>> {
        let path = format!("{}{sha256}{}", paths::PHOTO_PREFIX, if thumb { "/thumb" } else { "" });
        let mut req = self.request(Method::Get, &path, Some(auth));
        // The file as stored, never re-encoded on the way.
        req.headers.retain(|(name, _)| *name != "accept-encoding");
        let answer = self.client.send(req).await?;
        if !(200..300).contains(&answer.status) {
            let status = answer.status;
            let body = read_all(answer.body).await.unwrap_or_default();
            return Err(error_of(status, &body, true));
        }
        Ok(answer.body)
    }

    pub async fn login(&self, req: &protocol::LoginRequest) -> Result<(protocol::LoginResponse, WireBytes)> {
        self.call(Method::Post, paths::LOGIN, None, Some(req)).await
    }

    /// Sign in with a one-time enrolment code (扫码登录); answered like a login.
    pub async fn enrol(&self, req: &protocol::EnrolRequest) -> Result<(protocol::LoginResponse, WireBytes)> {
        self.call(Method::Post, paths::ENROL, None, Some(req)).await
    }

    pub async fn logout(&self, auth: Auth<'_>) -> Result<WireBytes> {
        let (_, _, _, wire) = self.exchange(Method::Post, paths::LOGOUT, Some(auth), None).await?;
        Ok(wire)
    }

    pub async fn push(&self, auth: Auth<'_>, req: &protocol::PushRequest) -> Result<(protocol::PushResponse, WireBytes)> {
        self.call(Method::Post, paths::PUSH, Some(auth), Some(req)).await
    }

    /// A page after `since`, a cursor of the history `epoch` (None on a first pull); the
    /// device says how much it still has to send (`pending`).
    pub async fn pull(
        &self,
        auth: Auth<'_>,
        since: u64,
        epoch: Option<u64>,
        limit: u32,
        pending: u64,
        own_digests: bool,
    ) -> Result<(protocol::PullResponse, WireBytes)> {
        let epoch = epoch.map(|e| format!("&epoch={e}")).unwrap_or_default();
        let own = if own_digests { "&own_digests=true" } else { "" };
        let path = format!("{}?since={since}&limit={limit}{epoch}&pending={pending}{own}", paths::PULL);
        self.call::<(), _>(Method::Get, &path, Some(auth), None).await
    }

    pub async fn reference(&self, auth: Auth<'_>) -> Result<(crate::reference::ReferenceData, WireBytes)> {
        self.call::<(), _>(Method::Get, paths::REFERENCE, Some(auth), None).await
    }

    /// A new block of notice numbers for this device.
    pub async fn issue_block(&self, auth: Auth<'_>, count: u32) -> Result<crate::numbering::NumberBlock> {
        Ok(self.call(Method::Post, paths::NUMBER_BLOCKS, Some(auth), Some(&protocol::BlockRequest { count })).await?.0)
    }

    /// What is left of this device's blocks, as the server knows it.
    pub async fn open_blocks(&self, auth: Auth<'_>) -> Result<Vec<crate::numbering::NumberBlock>> {
        Ok(self.call::<(), _>(Method::Get, paths::NUMBER_BLOCKS, Some(auth), None).await?.0)
    }

    /// Give back the unused ends of this device's blocks.
    pub async fn return_numbers(&self, auth: Auth<'_>, req: &protocol::ReturnRequest) -> Result<protocol::ReturnResponse> {
        Ok(self.call(Method::Post, paths::NUMBER_RETURN, Some(auth), Some(req)).await?.0)
    }
}

async fn read_all(mut body: Box<dyn ResponseBody>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        matches!(check_server_url(url, false), Err(Error::Argument(m)) if m.contains("plain_http_refused"))
    }

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        for ok in [
            "https://gw.example.cn",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:8080/",
            "http://LOCALHOST",
            "http://[::1]:8080",
        ] {
            assert!(check_server_url(ok, false).is_ok(), "{ok}");
        }
        for plain in
            ["http://gw.example.cn", "http://10.0.0.5:8080", "http://[::2]", "http://localhost.example.cn", "http://128.0.0.1"]
        {
            assert!(refused(plain), "{plain}");
            assert!(check_server_url(plain, true).is_ok(), "{plain} allowed");
        }
    }

    #[test]
    fn bad_urls_are_refused_whatever_is_allowed() {
        for bad in ["", "gw.example.cn", "ftp://gw.example.cn", "http://", "file:///tmp/x"] {
            for allow in [false, true] {
                let err = check_server_url(bad, allow).expect_err(bad);
                assert!(matches!(&err, Error::Argument(m) if !m.contains("plain_http_refused")), "{bad}: {err:?}");
            }
        }
    }

    #[test]
    fn transport_refuses_plain_http_to_another_machine() {
        assert!(matches!(Transport::new("http://gw.example.cn", false), Err(Error::Argument(_))));
        assert_eq!(Transport::new("http://gw.example.cn/", true).expect("allowed").base_url(), "http://gw.example.cn");
        assert_eq!(Transport::new("https://gw.example.cn/", false).expect("https").base_url(), "https://gw.example.cn");
    }
}
