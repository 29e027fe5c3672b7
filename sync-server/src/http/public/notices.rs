//! `GET /public/notices/{record id}`: the status page a printed notice's QR code opens.
//! No sign-in; number, status, deadline, category and district only (no personal data);
//! plain HTML in Chinese, readable on a phone; unknown ids, notices hidden from the public
//! and errors are HTML pages too.

use super::esc;
use crate::service::public_notices::{PublicNotice, public_notice};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Datelike;
use gridwork_core::model::Status;
use gridwork_core::protocol::paths::PUBLIC_NOTICE_PREFIX;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new().route(&format!("{PUBLIC_NOTICE_PREFIX}{{id}}"), get(show))
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(id.trim()) else { return not_found() };
    let stores = state.stores();
    match public_notice(stores.records.as_ref(), stores.moderation.as_ref(), state.reference(), id).await {
        Ok(Some(n)) => html(StatusCode::OK, &page(&n)),
        Ok(None) => not_found(),
        Err(_) => {
            html(StatusCode::INTERNAL_SERVER_ERROR, &shell("服务暂时不可用", "<h1>服务暂时不可用</h1><p>请稍后再扫码查看。</p>"))
        }
    }
}

/// An HTML page of this surface (its headers: never cached as is, not indexed).
pub(super) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    html(status, &shell(title, body))
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        &shell("未找到告知单", "<h1>未找到这份告知单</h1><p>请核对二维码，或联系开具告知单的执法中队。</p>"),
    )
}

fn html(status: StatusCode, body: &str) -> Response {
    let mut r = (status, Html(body.to_owned())).into_response();
    let h = r.headers_mut();
    // The status changes; nothing of it belongs in shared caches or search engines.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

fn shell(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{}</title>
<style>body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;padding:16px;max-width:36em}}
h1{{font-size:1.3em}}dl{{display:grid;grid-template-columns:max-content 1fr;gap:.5em 1em}}dt{{color:#555}}dd{{margin:0}}
.status{{display:inline-block;border-radius:4px;padding:0 .5em;color:#fff;background:#1f5fa8}}
.status.done{{background:#2e7d32}}.status.late{{background:#c62828}}.status.void{{background:#757575}}
footer{{margin-top:2em;color:#777;font-size:.85em}}</style></head><body>{}</body></html>"#,
        esc(title),
        body
    )
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Rectified => "done",
        Status::Overdue | Status::Escalated => "late",
        Status::Cancelled => "void",
        _ => "open",
    }
}

fn page(n: &PublicNotice) -> String {
    let d = n.deadline;
    let mut body = format!(
        r#"<h1>不文明行为告知单</h1><dl>
<dt>告知单编号</dt><dd id="number">{}</dd>
<dt>办理状态</dt><dd><span id="status" class="status {}">{}</span></dd>
<dt>整改期限</dt><dd id="deadline">{}年{}月{}日前</dd>
<dt>类别</dt><dd id="category">{}</dd>"#,
        esc(&n.number),
        status_class(n.status),
        esc(n.status.label_zh()),
        d.year(),
        d.month(),
        d.day(),
        esc(&n.category),
    );
    if let Some(district) = &n.district {
        body.push_str(&format!(r#"<dt>开具地区</dt><dd id="district">{}</dd>"#, esc(district)));
    }
    body.push_str("</dl><footer>本页只显示告知单的办理状态，不含当事人信息。如有疑问，请联系开具告知单的执法中队。</footer>");
    shell(&format!("告知单 {}", n.number), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_page_escapes_and_shows_only_public_fields() {
        let n = PublicNotice {
            number: "奎文<script>".into(),
            status: Status::Overdue,
            deadline: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
            category: "乱摆摊 & 其他".into(),
            district: Some("奎文区".into()),
        };
        let html = page(&n);
        assert!(html.contains("奎文&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("乱摆摊 &amp; 其他"));
        assert!(html.contains("2026年11月23日前"));
        assert!(html.contains(&format!(">{}</span>", Status::Overdue.label_zh())));
        assert!(html.contains(r#"class="status late""#));
    }
}
