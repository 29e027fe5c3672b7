//! HTTP transport of the sync protocol: JSON bodies, gzip both ways (done here rather than
//! by reqwest so that the bytes on the wire can be counted), typed errors.

use crate::error::{Error, Result};
use crate::protocol::{self, ErrorBody, paths};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{Read, Write};
use std::time::Duration;

pub use crate::protocol::DEVICE_HEADER;

/// Credentials of one request.
#[derive(Clone, Copy)]
pub struct Auth<'a> {
    pub token: &'a str,
    pub device_id: &'a str,
}

/// Body bytes of one exchange as they crossed the wire (compressed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireBytes {
    pub sent: u64,
    pub received: u64,
}

/// A request body as it goes on the wire.
struct Outgoing {
    bytes: Vec<u8>,
    content_type: &'static str,
    gzip: bool,
    offset: Option<u64>,
}

fn error_of(status: StatusCode, body: &[u8], authenticated: bool) -> Error {
    if status == StatusCode::UNAUTHORIZED && authenticated {
        return Error::Unauthorized;
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => ("http_error".to_owned(), format!("HTTP {}", status.as_u16())),
    };
    Error::Server { status: status.as_u16(), code, message }
}

#[derive(Debug)]
pub struct Transport {
    /// Built on first use: opening a device offline must not depend on the TLS setup
    /// (a CA store) of the machine.
    http: std::sync::OnceLock<reqwest::Client>,
    base: String,
}

impl Transport {
    pub fn new(server_url: &str) -> Result<Transport> {
        let base = server_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).map_err(|_| Error::Argument("服务器地址无效 (server_url)".into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::Argument("服务器地址应以 http:// 或 https:// 开头 (server_url)".into()));
        }
        Ok(Transport { http: std::sync::OnceLock::new(), base })
    }

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

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One request. `body` is sent gzip-compressed; the answer may come back compressed.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        auth: Option<Auth<'_>>,
        body: Option<&Req>,
    ) -> Result<(Resp, WireBytes)> {
        let (bytes, status, wire) = self.exchange(method, path_and_query, auth, body).await?;
        if status == StatusCode::NO_CONTENT {
            return Ok((serde_json::from_slice(b"null")?, wire));
        }
        Ok((serde_json::from_slice(&bytes)?, wire))
    }

    async fn exchange<Req: Serialize>(
        &self,
        method: Method,
        path_and_query: &str,
        auth: Option<Auth<'_>>,
        body: Option<&Req>,
    ) -> Result<(Vec<u8>, StatusCode, WireBytes)> {
        let outgoing = match body {
            Some(b) => {
                let json = serde_json::to_vec(b)?;
                let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
                gz.write_all(&json).map_err(|e| Error::Decode(e.to_string()))?;
                let compressed = gz.finish().map_err(|e| Error::Decode(e.to_string()))?;
                Some(Outgoing { bytes: compressed, content_type: "application/json", gzip: true, offset: None })
            }
            None => None,
        };
        self.send(method, path_and_query, auth, outgoing).await
    }

    /// Send one request and read the whole answer (small answers only: JSON).
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        auth: Option<Auth<'_>>,
        body: Option<Outgoing>,
    ) -> Result<(Vec<u8>, StatusCode, WireBytes)> {
        let mut req = self
            .client()?
            .request(method, format!("{}{}", self.base, path_and_query))
            .header(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, format!("Bearer {}", a.token)).header(DEVICE_HEADER, a.device_id);
        }
        let mut wire = WireBytes::default();
        if let Some(b) = body {
            wire.sent = b.bytes.len() as u64;
            req = req.header(CONTENT_TYPE, b.content_type);
            if b.gzip {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            if let Some(offset) = b.offset {
                req = req.header(protocol::UPLOAD_OFFSET_HEADER, offset);
            }
            req = req.body(b.bytes);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let gzipped = resp.headers().get(CONTENT_ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let raw = resp.bytes().await?;
        wire.received = raw.len() as u64;
        let bytes = if gzipped {
            let mut out = Vec::with_capacity(raw.len() * 4);
            GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| Error::Decode(e.to_string()))?;
            out
        } else {
            raw.to_vec()
        };
        if status.is_success() {
            return Ok((bytes, status, wire));
        }
        Err(error_of(status, &bytes, auth.is_some()))
    }

    /// Start or resume the upload of a photo: how much the server already has.
    pub async fn upload_start(&self, auth: Auth<'_>, req: &protocol::UploadStart) -> Result<(protocol::UploadStatus, WireBytes)> {
        self.call(Method::POST, paths::UPLOADS, Some(auth), Some(req)).await
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
        let (bytes, _, wire) = self.send(Method::PATCH, &path, Some(auth), Some(body)).await?;
        Ok((serde_json::from_slice(&bytes)?, wire))
    }

    /// Stream a photo (or its thumbnail) into `out`, chunk by chunk; returns the bytes read.
    pub async fn download(
        &self,
        auth: Auth<'_>,
        sha256: &str,
        thumb: bool,
        out: &mut (dyn FnMut(&[u8]) -> Result<()> + Send),
    ) -> Result<u64> {
        let path = format!("{}{sha256}{}", paths::PHOTO_PREFIX, if thumb { "/thumb" } else { "" });
        let mut resp = self
            .client()?
            .get(format!("{}{}", self.base, path))
            .header(AUTHORIZATION, format!("Bearer {}", auth.token))
            .header(DEVICE_HEADER, auth.device_id)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(error_of(status, &body, true));
        }
        let mut n = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            n += chunk.len() as u64;
            out(&chunk)?;
        }
        Ok(n)
    }

    pub async fn login(&self, req: &protocol::LoginRequest) -> Result<(protocol::LoginResponse, WireBytes)> {
        self.call(Method::POST, paths::LOGIN, None, Some(req)).await
    }

    pub async fn logout(&self, auth: Auth<'_>) -> Result<WireBytes> {
        let (bytes, _, wire) = self.exchange::<()>(Method::POST, paths::LOGOUT, Some(auth), None).await?;
        drop(bytes);
        Ok(wire)
    }

    pub async fn push(&self, auth: Auth<'_>, req: &protocol::PushRequest) -> Result<(protocol::PushResponse, WireBytes)> {
        self.call(Method::POST, paths::PUSH, Some(auth), Some(req)).await
    }

    pub async fn pull(&self, auth: Auth<'_>, since: u64, limit: u32) -> Result<(protocol::PullResponse, WireBytes)> {
        let path = format!("{}?since={since}&limit={limit}", paths::PULL);
        self.call::<(), _>(Method::GET, &path, Some(auth), None).await
    }

    pub async fn reference(&self, auth: Auth<'_>) -> Result<(crate::reference::ReferenceData, WireBytes)> {
        self.call::<(), _>(Method::GET, paths::REFERENCE, Some(auth), None).await
    }
}
