//! Extractors of the device API that answer in its error format: `Json` and `Query`
//! (messages name the JSON path and the kind of problem, never the offending value, which
//! may be a phone number: serde's own messages quote values, so they are not passed on),
//! and [`BearerSession`], the live session of a bearer token and device header.

use crate::http::error::AppError;
use crate::service::accounts::{AccountsService, Session};
use axum::body::Bytes;
use axum::extract::FromRef;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use gridwork_core::protocol::DEVICE_HEADER;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use uuid::Uuid;

/// JSON request body / response.
pub struct Json<T>(pub T);

/// The longest a request body may take to arrive (a slow client holds a connection and a
/// task while it trickles in). Generous: a full push batch over a weak 2G link fits.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// URL query string.
pub struct Query<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(AppError::UnsupportedMediaType);
        }
        // `Bytes` honours `DefaultBodyLimit`, counted after gzip decoding.
        let read =
            tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(req, state)).await.map_err(|_| AppError::RequestTimeout)?;
        let bytes = read.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { AppError::PayloadTooLarge } else { AppError::MalformedBody }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Parse a JSON body: text that is not JSON is `malformed_json`; JSON of the wrong shape
/// (an unknown field, a wrong type, an enum object with no or two variants) is
/// `invalid_request` with the path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = safe_path(e.path());
        let inner = e.into_inner();
        // serde_json reports some shape errors (`{}` or two keys where an enum is expected)
        // as syntax errors: only text that does not parse at all is malformed.
        let is_json = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        if inner.classify() == serde_json::error::Category::Data || is_json() {
            AppError::InvalidRequest(describe(&path, &inner.to_string()))
        } else {
            AppError::MalformedJson
        }
    })?;
    de.end().map_err(|_| AppError::MalformedJson)?;
    Ok(value)
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = safe_path(e.path());
        AppError::InvalidRequest(describe(&path, &e.into_inner().to_string()))
    })
}

/// The caller of an authenticated device API request: `Authorization: Bearer <token>` and
/// the device header of the device the token was issued to.
pub struct BearerSession(pub Session);

impl<S> FromRequestParts<S> for BearerSession
where
    S: Send + Sync,
    Arc<AccountsService>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AppError::Unauthorized)?;
        let device_id = parts
            .headers
            .get(DEVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .ok_or(AppError::Unauthorized)?;
        let accounts = Arc::<AccountsService>::from_ref(state);
        Ok(BearerSession(accounts.authenticate(token, device_id).await?))
    }
}

/// The client's address, when the connection tells it (a real socket served with
/// `ConnectInfo`): the peer's, or, when the peer is a trusted reverse proxy
/// (`--trusted-proxy`), the one it forwarded ([`crate::http::forwarded`]).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<crate::http::forwarded::TrustedProxies>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let proxies = Arc::<crate::http::forwarded::TrustedProxies>::from_ref(state);
        Ok(ClientAddr(peer.map(|peer| proxies.client_addr(peer, &parts.headers))))
    }
}

/// An authenticated admin. Refused (403) before the body is read, so a caller without the
/// right learns nothing from how the body would have been judged.
pub struct AdminSession(pub Session);

impl<S> FromRequestParts<S> for AdminSession
where
    S: Send + Sync,
    Arc<AccountsService>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let BearerSession(session) = BearerSession::from_request_parts(parts, state).await?;
        session.caller.require_admin()?;
        Ok(AdminSession(session))
    }
}

/// The path with any segment that is not a plain field name masked: map keys come from the
/// client and could themselves be personal data.
fn safe_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if is_field_name(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } if is_field_name(variant) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Map { .. } | Segment::Enum { .. } | Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() { ".".into() } else { out }
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// A message from the path and the category of serde's error, without its values.
fn describe(path: &str, serde_message: &str) -> String {
    let what = if serde_message.starts_with("unknown field") {
        "未知字段".to_owned()
    } else if serde_message.starts_with("unknown variant") {
        "未知的取值（如记录类型、状态）".to_owned()
    } else if let Some(rest) = serde_message.strip_prefix("missing field `") {
        // The missing field's name comes from our schema, not from the client.
        let name = rest.split('`').next().unwrap_or("");
        if is_field_name(name) { format!("缺少字段 {name}") } else { "缺少字段".to_owned() }
    } else if serde_message.starts_with("invalid type") {
        "类型错误".to_owned()
    } else if serde_message.starts_with("invalid length") {
        "长度不符".to_owned()
    } else if serde_message.starts_with("duplicate field") {
        "字段重复".to_owned()
    } else {
        "取值无效".to_owned()
    };
    format!("{path}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwork_core::protocol::{PullQuery, PushRequest};

    fn err<T: DeserializeOwned>(json: &str) -> AppError {
        match parse_json::<T>(json.as_bytes()) {
            Err(e) => e,
            Ok(_) => panic!("expected an error for {json}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(matches!(err::<PushRequest>("{\"ops\": ["), AppError::MalformedJson));
        assert!(matches!(err::<PushRequest>("{\"ops\": []} trailing"), AppError::MalformedJson));
        assert!(matches!(err::<PushRequest>(""), AppError::MalformedJson));
    }

    #[test]
    fn shape_errors_name_the_path_and_not_the_value() {
        let AppError::InvalidRequest(m) = err::<PushRequest>(r#"{"ops": [], "secret_13805361234": 1}"#) else { panic!() };
        assert!(!m.contains("13805361234"), "{m}");
        let AppError::InvalidRequest(m) = err::<PushRequest>(r#"{"ops": "13805361234"}"#) else { panic!() };
        assert!(m.starts_with("ops:") && !m.contains("13805361234"), "{m}");
        let AppError::InvalidRequest(m) = err::<PushRequest>(r#"{}"#) else { panic!() };
        assert!(m.contains("缺少字段 ops"), "{m}");
        let AppError::InvalidRequest(m) = err::<PushRequest>(r#"{"ops":[{"op_id":"13805361234"}]}"#) else { panic!() };
        assert!(m.starts_with("ops[0].op_id") && !m.contains("13805361234"), "{m}");
    }

    #[test]
    fn json_of_the_wrong_shape_is_invalid_request_with_its_path() {
        use gridwork_core::model::RecordBody;
        for (json, path) in [(r#"{"report": {"category": "09006", "description": "x"}, "notice": {}}"#, "."), (r#"{}"#, ".")] {
            let AppError::InvalidRequest(m) = err::<RecordBody>(json) else { panic!("{json}") };
            assert!(m.starts_with(path), "{json}: {m}");
        }
        let op = |action: &str| {
            format!(
                r#"{{"ops": [{{"op_id": "0193a1b2-0000-7000-8000-000000000001", "record_id": "0193a1b2-0000-7000-8000-000000000002", "hlc": "0193a1b2c3d4-000000-dev", "action": {action}}}]}}"#
            )
        };
        for action in ["{}", r#"{"create": {}, "update": {}}"#] {
            let AppError::InvalidRequest(m) = err::<PushRequest>(&op(action)) else { panic!("{action}") };
            assert!(m.starts_with("ops[0].action"), "{action}: {m}");
        }
        let body = r#"{"ops": [{"op_id": "0193a1b2-0000-7000-8000-000000000001", "record_id": "0193a1b2-0000-7000-8000-000000000002", "hlc": "0193a1b2c3d4-000000-dev", "action": {"update": {"body": {}}}}]}"#;
        let AppError::InvalidRequest(m) = err::<PushRequest>(body) else { panic!("body {{}}") };
        assert!(m.starts_with("ops[0].action.update.body"), "{m}");
    }

    #[test]
    fn query_errors_are_invalid_request() {
        assert!(
            matches!(parse_query::<PullQuery>("since=abc"), Err(AppError::InvalidRequest(m)) if m.starts_with("since") && !m.contains("abc"))
        );
        assert!(matches!(
            parse_query::<PullQuery>("since=5&limit=10"),
            Ok(PullQuery { since: 5, limit: Some(10), epoch: None, pending: None, own_digests: None })
        ));
        assert!(matches!(
            parse_query::<PullQuery>(""),
            Ok(PullQuery { since: 0, limit: None, epoch: None, pending: None, own_digests: None })
        ));
        assert!(parse_query::<PullQuery>("bogus=1").is_err());
        assert!(matches!(parse_query::<PullQuery>("own_digests=true"), Ok(PullQuery { own_digests: Some(true), .. })));
        assert!(
            matches!(parse_query::<PullQuery>("own_digests=yes"), Err(AppError::InvalidRequest(m)) if m.starts_with("own_digests"))
        );
    }
}
