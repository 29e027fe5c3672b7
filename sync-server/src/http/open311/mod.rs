//! Open311 GeoReport v2 under `/open311/v2` (docs/open311.md): `discovery`, `services`,
//! `services/{code}`, `requests` (GET and POST), `requests/{id}`, `tokens/{token}`, each in
//! `.xml` (the spec's required format) and `.json`. axum's router cannot match
//! `/requests/{id}.json`, so each route captures its whole last segment and the format is
//! split off it here. Every answer of this surface, errors made by layers included, is in
//! the spec's shape: `[{"code", "description"}]` or `<errors><error>…`.

pub mod clients;
pub mod xml;

use crate::domain::DomainError;
use crate::service::open311::{
    FiledAnswer, NewServiceRequest, Open311Service, RequestQuery, Service, ServiceDefinition, ServiceRequest, TokenAnswer,
};
use crate::state::AppState;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::ToSchema;

/// Where the surface is nested.
pub const PREFIX: &str = "/open311/v2";
/// The date of this endpoint's last change, as discovery reports it.
pub const CHANGESET: &str = "2026-12-01T00:00:00+08:00";
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Largest `POST requests` body read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }

    /// The format a path asks for (XML, the spec's required one, unless it ends in `.json`).
    fn of_path(path: &str) -> Format {
        if path.ends_with(".json") { Format::Json } else { Format::Xml }
    }
}

/// `name.json` / `name.xml`: the name and the format.
fn split(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, format))
}

/// An error of this surface.
#[derive(Debug)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
    pub format: Format,
}

/// One entry of the spec's error list.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ErrorEntry {
    /// The HTTP status.
    pub code: u16,
    pub description: String,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>, format: Format) -> Self {
        Open311Error { status, description: description.into(), format }
    }

    fn not_found(format: Format) -> Self {
        Open311Error::new(StatusCode::NOT_FOUND, "未找到该资源 (not found)", format)
    }

    fn from_domain(e: DomainError, format: Format) -> Self {
        let (status, description) = match e {
            DomainError::NotFound => return Open311Error::not_found(format),
            DomainError::Forbidden | DomainError::Unauthenticated => {
                (StatusCode::FORBIDDEN, "api_key 无效、缺失或已停用 (invalid api_key)".to_owned())
            }
            DomainError::Invalid { rejection, .. } => (StatusCode::BAD_REQUEST, rejection.message),
            DomainError::Internal(detail) => {
                tracing::error!(%detail, "open311 internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误，请稍后重试 (internal error)".to_owned())
            }
            other => (StatusCode::BAD_REQUEST, format!("请求无法处理 ({})", short(&other))),
        };
        Open311Error::new(status, description, format)
    }
}

/// A code-like word for a domain error, never its details.
fn short(e: &DomainError) -> &'static str {
    match e {
        DomainError::Conflict(_) => "conflict",
        DomainError::TooLarge(_) => "too large",
        _ => "bad request",
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = match self.format {
            Format::Json => {
                serde_json::to_string(&[ErrorEntry { code: self.status.as_u16(), description: self.description.clone() }])
                    .unwrap_or_else(|_| "[]".into())
            }
            Format::Xml => xml::errors(self.status.as_u16(), &self.description),
        };
        respond(self.status, self.format, body)
    }
}

fn respond(status: StatusCode, format: Format, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    resp
}

fn ok_json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, Open311Error> {
    let body = serde_json::to_string(value).map_err(|e| Open311Error::from_domain(DomainError::internal(e), Format::Json))?;
    Ok(respond(status, Format::Json, body))
}

type Answer = Result<Response, Open311Error>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(top).post(post_requests))
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(one_request))
        .route("/tokens/{file}", get(token))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(open311_errors))
        .layer(CatchPanicLayer::custom(panic_response))
}

fn file_of(path: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<(String, Format), Open311Error> {
    let format = Format::of_path(uri.path());
    let Ok(Path(file)) = path else {
        return Err(Open311Error::new(StatusCode::BAD_REQUEST, "路径无法解析 (bad path)", format));
    };
    let (name, format) = split(&file).ok_or_else(|| Open311Error::not_found(format))?;
    Ok((name.to_owned(), format))
}

/// The parameters of a query string or form: the first value of each name.
fn params(text: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| form_urlencoded::parse(text.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `GET discovery`, `GET services`, `GET requests`.
async fn top(
    State(service): State<Arc<Open311Service>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Answer {
    let (name, format) = file_of(path, &uri)?;
    let e = |err| Open311Error::from_domain(err, format);
    match name.as_str() {
        "discovery" => Ok(discovery(format, &headers)),
        "services" => {
            let list = service.services().await.map_err(e)?;
            render(format, &list, xml::services)
        }
        "requests" => {
            let q = params(uri.query().unwrap_or(""));
            let query = RequestQuery {
                service_request_id: q("service_request_id"),
                service_code: q("service_code"),
                start_date: q("start_date"),
                end_date: q("end_date"),
                status: q("status"),
                page: q("page"),
                page_size: q("page_size"),
            };
            let list = absolute_media(service.requests(&query).await.map_err(e)?, &headers);
            render(format, &list, xml::requests)
        }
        _ => Err(Open311Error::not_found(format)),
    }
}

fn render<T: Serialize>(format: Format, value: &[T], to_xml: fn(&[T]) -> String) -> Answer {
    match format {
        Format::Json => ok_json(StatusCode::OK, &value),
        Format::Xml => Ok(respond(StatusCode::OK, Format::Xml, to_xml(value))),
    }
}

/// The discovery document.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    pub specification: String,
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub formats: Vec<String>,
}

/// This server's origin (`http://host:port`), from the Host header when it is a plain
/// host[:port]; empty when there is none.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    match host {
        Some(h) => format!("{}://{h}", if https { "https" } else { "http" }),
        None => String::new(),
    }
}

/// This endpoint's own URL.
fn base_url(headers: &HeaderMap) -> String {
    format!("{}{PREFIX}", origin(headers))
}

/// A `media_url` that is a path of this server (a public photo link) made absolute.
fn absolute_media(mut list: Vec<ServiceRequest>, headers: &HeaderMap) -> Vec<ServiceRequest> {
    let origin = origin(headers);
    for r in &mut list {
        if let Some(url) = &r.media_url
            && url.starts_with('/')
        {
            r.media_url = Some(format!("{origin}{url}"));
        }
    }
    list
}

fn discovery(format: Format, headers: &HeaderMap) -> Response {
    let d = Discovery {
        changeset: CHANGESET.into(),
        contact: "城市管理网格化服务平台（gridwork）管理员".into(),
        key_service: "api_key 由平台管理员为每个接入应用签发 (POST /v1/open311/clients)".into(),
        endpoints: vec![Endpoint {
            specification: SPECIFICATION.into(),
            url: base_url(headers),
            changeset: CHANGESET.into(),
            kind: "production".into(),
            formats: vec!["text/xml".into(), "application/json".into()],
        }],
    };
    match format {
        Format::Json => ok_json(StatusCode::OK, &d).unwrap_or_else(IntoResponse::into_response),
        Format::Xml => {
            let mut x = xml::Xml::new();
            x.open("discovery").text("changeset", &d.changeset).text("contact", &d.contact).text("key_service", &d.key_service);
            x.open("endpoints");
            for ep in &d.endpoints {
                x.open("endpoint")
                    .text("specification", &ep.specification)
                    .text("url", &ep.url)
                    .text("changeset", &ep.changeset)
                    .text("type", &ep.kind)
                    .open("formats");
                for f in &ep.formats {
                    x.text("format", f);
                }
                x.close("formats").close("endpoint");
            }
            x.close("endpoints").close("discovery");
            respond(StatusCode::OK, Format::Xml, x.finish())
        }
    }
}

/// `GET services/{code}`: the definition (no service has attributes).
async fn service_definition(
    State(service): State<Arc<Open311Service>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Answer {
    let (code, format) = file_of(path, &uri)?;
    let s: Service = service.service(&code).await.map_err(|e| Open311Error::from_domain(e, format))?;
    let def = ServiceDefinition { service_code: s.service_code, attributes: Vec::new() };
    match format {
        Format::Json => ok_json(StatusCode::OK, &def),
        Format::Xml => Ok(respond(StatusCode::OK, Format::Xml, xml::definition(&def))),
    }
}

/// `GET requests/{id}`: a list of one.
async fn one_request(
    State(service): State<Arc<Open311Service>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Answer {
    let (id, format) = file_of(path, &uri)?;
    let one: ServiceRequest = service.request(&id).await.map_err(|e| Open311Error::from_domain(e, format))?;
    render(format, &absolute_media(vec![one], &headers), xml::requests)
}

/// `GET tokens/{token}`.
async fn token(State(service): State<Arc<Open311Service>>, path: Result<Path<String>, PathRejection>, uri: Uri) -> Answer {
    let (token, format) = file_of(path, &uri)?;
    let t: TokenAnswer = service.token(&token).await.map_err(|e| Open311Error::from_domain(e, format))?;
    render(format, &[t], xml::tokens)
}

/// `POST requests`: a form (`application/x-www-form-urlencoded`); `api_key` may also come
/// in the query string, as some clients send it.
async fn post_requests(
    State(service): State<Arc<Open311Service>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    req: Request,
) -> Answer {
    let (name, format) = file_of(path, &uri)?;
    if name != "requests" {
        return Err(Open311Error::new(StatusCode::METHOD_NOT_ALLOWED, "不支持该请求方法 (method not allowed)", format));
    }
    let bad = |m: &str| Open311Error::new(StatusCode::BAD_REQUEST, m.to_owned(), format);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        .unwrap_or(false);
    if !is_form {
        return Err(bad("请以 application/x-www-form-urlencoded 表单提交 (form expected)"));
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| bad(&format!("表单过大或中断（上限 {} KiB）", MAX_FORM_BYTES / 1024)))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("表单须为 UTF-8 编码"))?;
    let form = params(text);
    let query = params(uri.query().unwrap_or(""));
    // Open311's contact fields (email, first_name, last_name, phone, device_id, account_id)
    // are personal data: never read, never stored.
    let new = NewServiceRequest {
        api_key: form("api_key").or_else(|| query("api_key")),
        service_code: form("service_code"),
        lat: form("lat"),
        long: form("long"),
        address_string: form("address_string"),
        address_id: form("address_id"),
        description: form("description"),
        media_url: form("media_url"),
    };
    let filed: FiledAnswer = service.file(new).await.map_err(|e| Open311Error::from_domain(e, format))?;
    match format {
        Format::Json => ok_json(StatusCode::CREATED, &[filed]),
        Format::Xml => Ok(respond(StatusCode::CREATED, Format::Xml, xml::filed(&[filed]))),
    }
}

async fn fallback(uri: Uri) -> Open311Error {
    Open311Error::not_found(Format::of_path(uri.path()))
}

async fn method_not_allowed(uri: Uri) -> Open311Error {
    Open311Error::new(StatusCode::METHOD_NOT_ALLOWED, "不支持该请求方法 (method not allowed)", Format::of_path(uri.path()))
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("open311 handler panicked");
    Open311Error::new(StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误，请稍后重试 (internal error)", Format::Xml)
        .into_response()
}

/// Error responses made by layers carry no body of ours: give them one.
async fn open311_errors(req: Request, next: Next) -> Response {
    let format = Format::of_path(req.uri().path());
    let resp = next.run(req).await;
    let status = resp.status();
    let ours = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/xml"));
    if (status.is_client_error() || status.is_server_error()) && !ours {
        let (parts, _) = resp.into_parts();
        let mut fixed = Open311Error::new(status, "请求无法处理 (bad request)", format).into_response();
        if let Some(allow) = parts.headers.get(header::ALLOW) {
            fixed.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return fixed;
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_split_off_the_last_segment() {
        assert_eq!(split("services.json"), Some(("services", Format::Json)));
        assert_eq!(
            split("0193a1b2-0000-7000-8000-000000000001.xml"),
            Some(("0193a1b2-0000-7000-8000-000000000001", Format::Xml))
        );
        assert_eq!(split("a.b.json"), Some(("a.b", Format::Json)));
        for bad in ["services", "services.html", ".json", "services."] {
            assert_eq!(split(bad), None, "{bad}");
        }
    }
}
