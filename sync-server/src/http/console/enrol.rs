//! `/admin/enrol?user=<username>`: an admin provisions a phone by QR code (扫码登录). The
//! page names the account and offers a button; the code is made by that form's POST and
//! shown only in its answer (never in a URL, never cached): a QR code drawn here as SVG of
//! `gridwork://enrol?server=<this server as the browser reached it>&code=<code>`, the code
//! as text for typing, and when it expires. Admins only; officers get 403.

use super::error::ConsoleError;
use super::form::{Form, QueryData};
use super::session::{Console, is_tls};
use super::view::{Nav, local_time, org_name};
use crate::service::enrolment::{CODE_TTL, enrol_link};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

/// The account a code is for, as the page shows it.
struct Account {
    username: String,
    display_name: String,
    role: &'static str,
    scope: String,
}

/// A code just made.
struct Made {
    svg: String,
    grouped: String,
    expires: String,
    server: String,
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage {
    nav: Nav,
    account: Account,
    made: Option<Made>,
    ttl_minutes: i64,
}

fn username_of(value: Option<&str>) -> Result<String, ConsoleError> {
    let u = value.map(str::trim).ok_or_else(|| ConsoleError::bad("user", "请指定账号"))?;
    let ok =
        (1..=64).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok { Ok(u.to_owned()) } else { Err(ConsoleError::bad("user", "不是有效的用户名")) }
}

/// This server as the browser reached it: `http(s)://<Host>`.
fn public_url(headers: &HeaderMap) -> Result<String, ConsoleError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ok = !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !ok {
        return Err(ConsoleError::BadRequest("无法确定服务器地址（Host 请求头无效）(host)".into()));
    }
    Ok(format!("{}://{host}", if is_tls(headers) { "https" } else { "http" }))
}

/// A QR code as an SVG drawing: one path of the dark modules, a 4-module quiet zone.
pub fn qr_svg(text: &str) -> Result<String, ConsoleError> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(ConsoleError::internal)?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 8;
    let mut path = String::with_capacity(colors.len() * 4);
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"280\" height=\"280\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"扫码登录二维码\" id=\"enrol-qr\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

async fn page(state: &AppState, console: &Console, username: &str, made: Option<Made>) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let user = refs.data.users.iter().find(|u| u.username == username).ok_or(ConsoleError::NotFound)?;
    let account = Account {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role.label_zh(),
        scope: org_name(&refs.index, &user.scope),
    };
    let page =
        EnrolPage { nav: Nav::new(&console.0, &refs.index, "accounts"), account, made, ttl_minutes: CODE_TTL.num_minutes() };
    Ok(Html(page.render()?).into_response())
}

/// `GET /admin/enrol?user=…`: the account and the button.
pub async fn enrol_page(
    State(state): State<AppState>,
    console: Console,
    QueryData(q): QueryData,
) -> Result<Response, ConsoleError> {
    console.0.session.caller.require_admin()?;
    let username = username_of(q.get("user"))?;
    page(&state, &console, &username, None).await
}

/// `POST /admin/enrol` (`user`, `_csrf`): make a code and show it, this once.
pub async fn make_code(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, ConsoleError> {
    console.acting(&form)?;
    let username = username_of(form.get("user"))?;
    let server = public_url(&headers)?;
    let made = state.enrolment().create(&console.0.session.caller, &username).await?;
    let svg = qr_svg(&enrol_link(&server, &made.code))?;
    let shown = Made { svg, grouped: made.grouped(), expires: local_time(made.expires_at), server };
    page(&state, &console, &username, Some(shown)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_svg_draws_every_dark_module() {
        let svg = super::qr_svg("gridwork://enrol?server=http%3A%2F%2F127.0.0.1%3A8080&code=ABCD").expect("svg");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        // The finder pattern's corner, after the quiet zone.
        assert!(svg.contains("M4 4h1v1h-1z"));
        assert!(!svg.contains("M0 0h1"), "the quiet zone is blank");
    }
}
