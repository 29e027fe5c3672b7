//! A browser on the console for the router tests: a cookie jar over the router, and HTML helpers.

use super::{Harness, PASSWORD, Resp, send};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, request};
use std::collections::HashMap;
use uuid::Uuid;

/// The host the console is reached at unless a test says otherwise.
pub const CONSOLE_HOST: &str = "console.test";

/// The body of an answer as text.
pub fn text(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).expect("utf-8")
}

/// The value of the first hidden CSRF field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"_csrf\" value=\"").expect("a CSRF field") + "name=\"_csrf\" value=\"".len();
    page[at..].split('"').next().expect("value").to_owned()
}

/// An HTML error page with the given status and English code; its text.
pub fn html_error(r: &Resp, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status, status, "{}", text(r));
    assert!(r.header("content-type").starts_with("text/html"), "{}", r.header("content-type"));
    let t = text(r);
    assert!(t.contains(&format!("<span id=\"error-code\">{code}</span>")), "{code} in {t}");
    t
}

/// A browser: a cookie jar over the router; redirects are not followed.
pub struct Browser<'a> {
    pub h: &'a Harness,
    pub cookies: HashMap<String, String>,
    /// Sent as `X-Forwarded-Proto: https` (a TLS-terminating proxy in front).
    pub tls: bool,
    /// The `Host` header, and the origin of same-origin posts.
    pub host: &'static str,
}

impl<'a> Browser<'a> {
    /// A signed-out browser on `console.test`, over plain HTTP.
    pub fn new(h: &'a Harness) -> Self {
        Self::at(h, CONSOLE_HOST)
    }

    /// A signed-out browser reaching the console as `host`, over plain HTTP.
    pub fn at(h: &'a Harness, host: &'static str) -> Self {
        Browser { h, cookies: HashMap::new(), tls: false, host }
    }

    /// The `Cookie` header of the jar.
    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Keeps the answer's cookies; an empty or expired one is dropped.
    pub fn keep_cookies(&mut self, r: &Resp) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().expect("ascii");
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').expect("name=value");
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
    }

    /// A request with the host, the cookies and, behind TLS, the forwarded scheme.
    pub fn builder(&self, method: Method, path: &str) -> request::Builder {
        let mut b = Request::builder().method(method).uri(path).header("host", self.host);
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookie_header());
        }
        if self.tls {
            b = b.header("x-forwarded-proto", "https");
        }
        b
    }

    /// The origin a same-origin page of this browser has.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.host)
    }

    /// A GET, keeping the cookies.
    pub async fn get(&mut self, path: &str) -> Resp {
        let r = send(&self.h.app, self.builder(Method::GET, path), Body::empty()).await;
        self.keep_cookies(&r);
        r
    }

    /// A form post with the given `Origin` header, or none.
    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut b = self.builder(Method::POST, path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let r = send(&self.h.app, b, Body::from(body)).await;
        self.keep_cookies(&r);
        r
    }

    /// A same-origin form post, as the browser sends it.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let origin = self.origin();
        self.post_with(path, form, Some(&origin)).await
    }

    /// Sign in: the sign-in page, then its form, asking to go on to the records table.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Resp {
        let page = self.get("/admin/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = csrf_of(&text(&page));
        self.post(
            "/admin/login",
            &[("_csrf", &token), ("username", username), ("password", password), ("next", "/admin/records")],
        )
        .await
    }

    /// A new browser on `console.test` signed in as `username` with the fixture password.
    pub async fn signed_in(h: &'a Harness, username: &str) -> Browser<'a> {
        Browser::new(h).signing_in(username).await
    }

    /// This browser, signed in as `username` with the fixture password and sent on to the records table.
    pub async fn signing_in(mut self, username: &str) -> Browser<'a> {
        let r = self.sign_in(username, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
        assert_eq!(r.header("location"), "/admin/records");
        self
    }

    /// A page that must answer 200 with HTML.
    pub async fn page(&mut self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", text(&r));
        assert!(r.header("content-type").starts_with("text/html"));
        text(&r)
    }

    /// The CSRF token of this session (from any page's sign-out form).
    pub async fn csrf(&mut self) -> String {
        csrf_of(&self.page("/admin/queue").await)
    }

    /// A form post with this session's CSRF token.
    pub async fn act(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(form);
        self.post(path, &all).await
    }

    /// An action that must succeed: back to the record page with the flash.
    pub async fn done(&mut self, path: &str, form: &[(&str, &str)], record: Uuid, code: &str) {
        let r = self.act(path, form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", text(&r));
        assert_eq!(r.header("location"), format!("/admin/records/{record}?done={code}"));
    }
}
