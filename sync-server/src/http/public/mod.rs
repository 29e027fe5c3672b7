//! The pages anyone may open without signing in, from a QR code on a phone: a notice's
//! status (`/public/notices/<id>`) and the 小蓝棚 near a stall or a point
//! (`/public/stalls`), and the photos of public 随手拍 reports (`/public/photos/<id>/<sha>`,
//! redacted where an admin blacked out faces or plates). Plain HTML, never personal data;
//! errors are HTML pages too.

mod notices;
mod photos;
mod stalls;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().merge(notices::router()).merge(stalls::router()).merge(photos::router())
}

/// HTML text with `& < > " '` escaped.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
