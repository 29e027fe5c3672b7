//! Forms and query strings as name/value pairs (a name may repeat: `ids=…&ids=…`), read
//! with typed errors that name the field, never the value.

use super::error::ConsoleError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};

#[derive(Clone, Debug, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(text: &[u8]) -> FormData {
        FormData { pairs: form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    /// A required field.
    pub fn required(&self, name: &str, label: &str) -> Result<&str, ConsoleError> {
        self.get(name).ok_or_else(|| ConsoleError::bad(name, &format!("请填写{label}")))
    }

    /// A field of at most `max` characters, no control characters but newlines.
    pub fn text(&self, name: &str, label: &str, max: usize) -> Result<Option<String>, ConsoleError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') => {
                Err(ConsoleError::bad(name, &format!("{label}最多{max}个字，不能含控制字符")))
            }
            Some(v) => Ok(Some(v.trim().replace("\r\n", "\n"))),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// A form body (`application/x-www-form-urlencoded`).
pub struct Form(pub FormData);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(ConsoleError::BadForm);
        }
        let read = tokio::time::timeout(crate::http::extract::BODY_TIMEOUT, Bytes::from_request(req, state))
            .await
            .map_err(|_| ConsoleError::BadRequest("请求内容发送超时，请重试 (request_timeout)".into()))?;
        let bytes = read.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE { ConsoleError::TooLarge } else { ConsoleError::BadForm }
        })?;
        Ok(Form(FormData::parse(&bytes)))
    }
}

/// The query string.
pub struct QueryData(pub FormData);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryData {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryData(FormData::parse(parts.uri.query().unwrap_or("").as_bytes())))
    }
}

/// `a=1&b=2`, percent-encoded.
pub fn encode(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}
