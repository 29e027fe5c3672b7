//! The map: the table's records as points coloured by stage, over district, street,
//! community and grid outlines generated from the org tree (no tile server needed). The
//! map takes the table's filters from its URL; an outline links to the table of its area.
//!
//! A tile layer is used where one exists: `GRIDWORK_CONSOLE_TILES` (an `{z}/{x}/{y}` URL
//! template); set `GRIDWORK_CONSOLE_TILES_GCJ02=1` for Chinese web tiles, which are GCJ-02:
//! records stay WGS-84 and are shifted for display only, in the browser.

use super::error::ConsoleError;
use super::form::QueryData;
use super::session::Console;
use super::view::{FilterChoices, Nav, TableQuery, number_of, org_name, short, text_of};
use crate::bootstrap::grid_position;
use crate::domain::query::SortKey;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use gridwork_core::model::Status;
use gridwork_core::reference::{OrgLevel, ReferenceData};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most points one map shows.
pub const MAX_POINTS: usize = 2000;

/// The origin the configured tiles come from, as a Content-Security-Policy source
/// (`https://*.tiles.example` for a `{s}` subdomain template), so the page may load them.
pub fn tile_source() -> Option<String> {
    source_of(&tiles().0?)
}

fn source_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?.replace("{s}", "*");
    let ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The configured tile URL template, if any, and whether its tiles are GCJ-02.
pub fn tiles() -> (Option<String>, bool) {
    let url = std::env::var("GRIDWORK_CONSOLE_TILES").ok().filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let gcj = std::env::var("GRIDWORK_CONSOLE_TILES_GCJ02").is_ok_and(|v| v == "1");
    (url, gcj)
}

#[derive(Template)]
#[template(path = "console/map.html")]
struct MapPage {
    nav: Nav,
    filter_action: &'static str,
    q: TableQuery,
    query: String,
    /// The filters without a viewport: the map's "this view as a table" link adds its own.
    base: String,
    choices: FilterChoices,
    tiles: String,
    gcj02: bool,
    max_points: usize,
}

pub async fn map(State(state): State<AppState>, console: Console, QueryData(form): QueryData) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let q = TableQuery::parse(&form, &refs.index)?;
    let (tiles, gcj02) = tiles();
    let page = MapPage {
        nav: Nav::new(&console.0, &refs.index, "map"),
        filter_action: "/admin/map",
        query: q.query(),
        base: q.without_bbox(),
        choices: FilterChoices::new(&q, &refs.data, &refs.index),
        q,
        tiles: tiles.unwrap_or_default(),
        gcj02,
        max_points: MAX_POINTS,
    };
    Ok(Html(page.render()?).into_response())
}

/// The colour of a stage on the map (and in the legend).
pub fn colour(status: Status, overdue: bool) -> &'static str {
    if overdue {
        return "#c0392b";
    }
    match status {
        Status::Submitted | Status::Issued | Status::Open => "#e67e22",
        Status::Registered | Status::Accepted | Status::Escalated => "#8e44ad",
        Status::Dispatched => "#2471a3",
        Status::Handled => "#17a589",
        Status::Closed | Status::Rectified | Status::Done => "#7f8c8d",
        Status::Voided | Status::Cancelled | Status::Suspended | Status::Overdue => "#34495e",
    }
}

fn geojson(v: Value) -> Response {
    let mut resp = axum::Json(v).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json"));
    resp
}

/// The filtered records as GeoJSON points (WGS-84).
pub async fn points(
    State(state): State<AppState>,
    console: Console,
    QueryData(form): QueryData,
) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let q = TableQuery::parse(&form, &refs.index)?;
    let sort = if q.sort == SortKey::NewestFirst { SortKey::UpdatedFirst } else { q.sort };
    let records = state.console().collect(&console.0.session.caller, &q.filter(), sort, MAX_POINTS + 1).await?;
    let truncated = records.len() > MAX_POINTS;
    let features: Vec<Value> = records
        .iter()
        .take(MAX_POINTS)
        .map(|r| {
            let overdue = super::view::is_overdue(r);
            json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [r.location.lon, r.location.lat] },
                "properties": {
                    "id": r.id.to_string(),
                    "kind": r.kind().label_zh(),
                    "status": r.status.label_zh(),
                    "number": number_of(r),
                    "text": short(&text_of(r), 30),
                    "colour": colour(r.status, overdue),
                }
            })
        })
        .collect();
    Ok(geojson(json!({ "type": "FeatureCollection", "features": features, "truncated": truncated })))
}

/// Half the side of a grid's square, in degrees.
const GRID_HALF: f64 = 0.0009;

/// The convex hull of points (Andrew's monotone chain), closed.
fn hull(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for p in &pts {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], *p) <= 0.0 {
            lower.pop();
        }
        lower.push(*p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for p in pts.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], *p) <= 0.0 {
            upper.pop();
        }
        upper.push(*p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    if let Some(first) = lower.first().copied() {
        lower.push(first);
    }
    lower
}

/// Plausible outlines of every district, street, community and grid: each grid a small
/// square around its position, each higher unit the hull of what it holds, padded.
pub fn outlines_of(data: &ReferenceData) -> Value {
    let mut corners: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let parent: BTreeMap<&str, &str> =
        data.orgs.iter().filter_map(|o| o.parent.as_deref().map(|p| (o.code.as_str(), p))).collect();
    let mut features = Vec::new();
    for o in data.orgs.iter().filter(|o| o.level == OrgLevel::Grid) {
        let Some((lat, lon)) = grid_position(&o.code) else { continue };
        let sq = vec![
            (lon - GRID_HALF, lat - GRID_HALF),
            (lon + GRID_HALF, lat - GRID_HALF),
            (lon + GRID_HALF, lat + GRID_HALF),
            (lon - GRID_HALF, lat + GRID_HALF),
        ];
        // Up the tree: each unit above collects the corners of its grids.
        let mut cur = parent.get(o.code.as_str()).copied();
        while let Some(p) = cur {
            corners.entry(p.to_owned()).or_default().extend(sq.iter().copied());
            cur = parent.get(p).copied();
        }
        let mut ring = sq.clone();
        ring.push(sq[0]);
        features.push((OrgLevel::Grid, o.code.clone(), o.name.clone(), ring));
    }
    for o in data.orgs.iter().filter(|o| matches!(o.level, OrgLevel::District | OrgLevel::Street | OrgLevel::Community)) {
        let Some(pts) = corners.get(&o.code) else { continue };
        let pad = match o.level {
            OrgLevel::District => 0.004,
            OrgLevel::Street => 0.002,
            _ => 0.0008,
        };
        let padded = pts
            .iter()
            .flat_map(|(x, y)| [(x - pad, y - pad), (x + pad, y - pad), (x + pad, y + pad), (x - pad, y + pad)])
            .collect();
        features.push((o.level, o.code.clone(), o.name.clone(), hull(padded)));
    }
    let features: Vec<Value> = features
        .into_iter()
        .map(|(level, code, name, ring)| {
            let coords: Vec<[f64; 2]> =
                ring.into_iter().map(|(x, y)| [(x * 1e6).round() / 1e6, (y * 1e6).round() / 1e6]).collect();
            json!({
                "type": "Feature",
                "geometry": { "type": "Polygon", "coordinates": [coords] },
                "properties": { "code": code, "name": name, "level": level.as_str() }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

pub async fn outlines(State(state): State<AppState>, _console: Console) -> Result<Response, ConsoleError> {
    let refs = state.reference().current().await?;
    let mut v = outlines_of(&refs.data);
    // Names for the popups of higher levels.
    if let Some(features) = v.get_mut("features").and_then(Value::as_array_mut) {
        for f in features {
            let code = f["properties"]["code"].as_str().unwrap_or("").to_owned();
            if let Some(p) = refs.index.org(&code).and_then(|o| o.parent.clone()) {
                f["properties"]["parent"] = Value::String(org_name(&refs.index, &p));
            }
        }
    }
    let mut resp = geojson(v);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=600"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_template_gives_its_origin_for_the_csp() {
        assert_eq!(source_of("https://{s}.tile.example.cn/{z}/{x}/{y}.png").as_deref(), Some("https://*.tile.example.cn"));
        assert_eq!(source_of("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png").as_deref(), Some("http://10.0.0.5:8080"));
        assert_eq!(source_of("https://bad host/{z}"), None);
        assert_eq!(source_of("https://{z}.example/"), None);
    }

    #[test]
    fn the_demo_city_has_an_outline_for_every_unit() {
        let data = ReferenceData { orgs: crate::bootstrap::orgs(), ..Default::default() };
        let v = outlines_of(&data);
        let n = v["features"].as_array().map(Vec::len).unwrap_or(0);
        let units = data.orgs.iter().filter(|o| o.level != OrgLevel::City).count();
        assert_eq!(n, units);
        for f in v["features"].as_array().into_iter().flatten() {
            let ring = f["geometry"]["coordinates"][0].as_array().expect("ring");
            assert!(ring.len() >= 4, "a closed ring");
            assert_eq!(ring.first(), ring.last());
        }
    }

    #[test]
    fn hull_of_a_square_and_its_centre_is_the_square() {
        let h = hull(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.5)]);
        assert_eq!(h.len(), 5);
        assert!(!h.contains(&(0.5, 0.5)));
    }
}
