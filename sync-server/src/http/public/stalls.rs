//! `/public/stalls`: the page a citizen opens by scanning a 小蓝棚's QR code, or from the
//! city's site: the stall (if one was scanned) and the 小修 stalls and 便民市场 near it or
//! near a point, nearest first, with trade, place, hours and a map link. No sign-in, no
//! personal data, plain HTML readable on a phone. Errors are HTML pages too.

use super::esc;
use crate::service::StallService;
use crate::service::stalls::PublicNear;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use gridwork_core::stalls::{PUBLIC_STALL_PATH, Stall};
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    let base = PUBLIC_STALL_PATH.trim_end_matches('/');
    Router::new().route(base, get(near_point)).route(&format!("{base}/{{code}}"), get(near_stall))
}

#[derive(Deserialize)]
struct Point {
    lat: Option<String>,
    lon: Option<String>,
}

/// A coordinate from the query; a bad one is the caller's mistake.
fn coordinate(v: &str, range: f64) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && x.abs() <= range)
}

async fn near_point(State(stalls): State<Arc<StallService>>, Query(p): Query<Point>) -> Response {
    let point = match (p.lat.as_deref(), p.lon.as_deref()) {
        (None, None) => None,
        (Some(lat), Some(lon)) => match (coordinate(lat, 90.0), coordinate(lon, 180.0)) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            _ => return error(StatusCode::BAD_REQUEST, "位置参数不正确 (lat/lon)"),
        },
        _ => return error(StatusCode::BAD_REQUEST, "请同时提供经纬度 (lat, lon)"),
    };
    match stalls.public_near(None, point).await {
        Ok(Some(near)) => page(&near, point.is_some()),
        Ok(None) => error(StatusCode::NOT_FOUND, "没有找到 (not found)"),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "服务暂时不可用 (unavailable)"),
    }
}

async fn near_stall(State(stalls): State<Arc<StallService>>, Path(code): Path<String>) -> Response {
    match stalls.public_near(Some(&code), None).await {
        Ok(Some(near)) => page(&near, true),
        Ok(None) => error(StatusCode::NOT_FOUND, "没有这个小蓝棚编号 (no such stall)"),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "服务暂时不可用 (unavailable)"),
    }
}

const HEAD: &str = r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>身边的小修摊点和便民市场</title>
<style>body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;padding:12px;max-width:40em}
h1{font-size:1.25em}li{margin:.6em 0;padding:.5em;border:1px solid #ccd;border-radius:6px;list-style:none}
ul{padding:0}.trade{display:inline-block;background:#1f5fa8;color:#fff;border-radius:4px;padding:0 .4em;margin-right:.4em}
.scanned{border:2px solid #1f5fa8;padding:.6em;border-radius:6px}small{color:#555}</style></head><body>"#;

fn place(out: &mut String, s: &Stall, distance: Option<f64>) {
    let _ = write!(
        out,
        r#"<span class="trade">{}</span><b>{}</b> <small>{}</small><br>{}<br><small>营业时间 {}"#,
        esc(s.trade.label_zh()),
        esc(&s.name),
        esc(&s.code),
        esc(&s.address),
        esc(&s.hours)
    );
    if let Some(d) = distance {
        let _ = write!(out, " · 距离约 {} 米", d.round());
    }
    // A map app opens the point (geo: URI, WGS-84).
    let _ = write!(out, r#" · <a href="geo:{:.6},{:.6}">在地图中打开</a></small>"#, s.lat, s.lon);
}

fn page(near: &PublicNear, looked: bool) -> Response {
    let mut out = String::from(HEAD);
    out.push_str("<h1>身边的小修摊点和便民市场</h1>");
    if let Some(s) = &near.scanned {
        out.push_str(r#"<div class="scanned" id="scanned">"#);
        place(&mut out, s, None);
        out.push_str("</div><h2>附近的其他摊点和市场</h2>");
    }
    if !looked {
        out.push_str(r#"<p>扫描小蓝棚上的二维码，或允许定位后查看附近的修鞋、修车、修锁配钥匙摊点和便民市场。</p>
<form><label>纬度 <input name="lat" inputmode="decimal"></label> <label>经度 <input name="lon" inputmode="decimal"></label> <button>查找</button></form>"#);
    } else if near.places.is_empty() {
        out.push_str("<p>附近三公里内没有登记的摊点或市场。</p>");
    } else {
        out.push_str(r#"<ul id="places">"#);
        for p in &near.places {
            out.push_str("<li>");
            place(&mut out, &p.stall, Some(p.distance_m));
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("<p><small>潍坊市城市管理 · 小蓝棚便民服务</small></p></body></html>");
    ([(header::CACHE_CONTROL, "public, max-age=300")], Html(out)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = format!("{HEAD}<h1>{}</h1><p>{}</p></body></html>", status.as_u16(), esc(message));
    (status, Html(body)).into_response()
}
