//! Exports through the whole router on a real SQLite store: CSV for Chinese Excel (BOM,
//! Chinese headers, no formulas), GeoJSON (RFC 7946, `[lon, lat]`), xlsx; each exactly the
//! caller's scope, across more than one page of the record search; personal data only on
//! the explicit option, only for admins and officers, and each such export audited.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Harness, Login, Resp, authed, harness, login, send};
use gridwork_core::fixtures;
use serde_json::{Value, json};
use uuid::Uuid;

const CSV: &str = "/v1/exports/records.csv";
const XLSX: &str = "/v1/exports/records.xlsx";
const GEOJSON: &str = "/v1/exports/records.geojson";

fn hlc() -> String {
    format!("{:012x}-000000-testdevice", chrono::Utc::now().timestamp_millis())
}

async fn push(h: &Harness, who: &Login, ops: Vec<Value>) {
    let b = authed(Method::POST, "/v1/sync/push", who).header("content-type", "application/json");
    let r = send(&h.app, b, Body::from(json!({ "ops": ops }).to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = r.json();
    for res in v["results"].as_array().expect("results") {
        assert_eq!(res["outcome"], "accepted", "{res}");
    }
}

/// A report's create op in `grid` (of `community`), at (`lat`, `lon`).
fn report(community: &str, grid: &str, description: &str, lat: f64, lon: f64) -> (Uuid, Value) {
    let id = Uuid::now_v7();
    let op = json!({"op_id": Uuid::now_v7(), "record_id": id, "hlc": hlc(), "action": {"create": {
        "org": {"community": community, "grid": grid},
        "created_at": chrono::Utc::now(),
        "location": {"lat": lat, "lon": lon, "accuracy_m": 8.0, "address": "潍坊市奎文区胜利东街"},
        "status": "submitted",
        "body": {"report": {"category": "09006", "description": description}}}}});
    (id, op)
}

/// The officer's notice (with its party) in the fixture grid, numbered from a block.
async fn notice(h: &Harness, officer: &Login) -> Uuid {
    let b = authed(Method::POST, "/v1/numbers/blocks", officer).header("content-type", "application/json");
    let r = send(&h.app, b, Body::from(json!({"count": 1}).to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let block: gridwork_core::numbering::NumberBlock = r.json();
    let rec = fixtures::records().remove(1);
    let id = Uuid::now_v7();
    let mut op = serde_json::to_value(fixtures::create_op(rec, gridwork_core::hlc::Hlc::new(1, 0, "dev"))).expect("op");
    op["record_id"] = json!(id);
    op["hlc"] = json!(hlc());
    op["action"]["create"]["created_at"] = json!(chrono::Utc::now());
    op["action"]["create"]["body"]["notice"]["deadline"] = json!((chrono::Utc::now() + chrono::Duration::days(3)).date_naive());
    op["action"]["create"]["body"]["notice"]["number"] =
        json!(gridwork_core::numbering::format_number(&block.prefix, block.year, block.first));
    push(h, officer, vec![op]).await;
    id
}

async fn get(h: &Harness, path: &str, who: &Login) -> Resp {
    send(&h.app, authed(Method::GET, path, who), Body::empty()).await
}

/// A CSV export's rows, split as a CSV reader would (quoted fields, doubled quotes).
fn csv_rows(r: &Resp) -> Vec<Vec<String>> {
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    assert!(r.header("content-disposition").starts_with("attachment; filename=\"gridwork-records-"));
    assert!(r.body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM first");
    let text = std::str::from_utf8(&r.body[3..]).expect("utf-8");
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "every row ends with CRLF");
    let rows_header: usize = r.header("x-gridwork-rows").parse().expect("row count");
    assert_eq!(rows.len(), rows_header + 1, "a header and one row per record");
    rows
}

fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let i = rows[0].iter().position(|h| h == header).unwrap_or_else(|| panic!("no column {header}: {:?}", rows[0]));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

#[tokio::test]
async fn csv_is_for_chinese_excel_scoped_and_never_a_formula() {
    let h = harness().await;
    let (admin, grid_kw, grid_wc) = (login(&h, "admin").await, login(&h, "grid.kw01").await, login(&h, "grid.wc01").await);
    let evil = ["=HYPERLINK(\"http://x\")", "+86 536", "-1+2", "@SUM(A1)", "正常, 含逗号和\"引号\"\n第二行"];
    let mut ops = Vec::new();
    let mut kw_ids = Vec::new();
    for d in evil {
        let (id, op) = report(fixtures::COMMUNITY, fixtures::GRID, d, 36.7069, 119.1617);
        kw_ids.push(id.to_string());
        ops.push(op);
    }
    push(&h, &grid_kw, ops).await;
    let (wc_id, op) = report(fixtures::OTHER_COMMUNITY, fixtures::OTHER_GRID, "潍城区的随手拍", 36.70, 119.10);
    push(&h, &grid_wc, vec![op]).await;

    let rows = csv_rows(&get(&h, CSV, &admin).await);
    for header in ["记录编号", "类型", "状态", "分类代码", "分类名称", "网格", "纬度", "经度", "内容", "填报时间"]
    {
        assert!(rows[0].iter().any(|c| c == header), "{header} in {:?}", rows[0]);
    }
    assert!(!rows[0].iter().any(|c| c == "当事人" || c == "联系电话"), "no personal columns by default");
    assert_eq!(rows.len(), 7);
    let texts = column(&rows, "内容");
    for d in &evil[..4] {
        assert!(texts.contains(&format!("'{d}")), "{d} neutralised: {texts:?}");
    }
    assert!(texts.contains(&evil[4].to_owned()), "quotes, commas and newlines survive: {texts:?}");
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "a cell a spreadsheet would compute: {cell}");
        }
    }
    assert!(column(&rows, "分类名称").iter().all(|n| n == "占道经营"));
    assert!(column(&rows, "类型").iter().all(|n| n == "随手拍"), "{:?}", column(&rows, "类型"));

    // A grid worker: only their grid; the other grid's worker: only theirs.
    let mine = csv_rows(&get(&h, CSV, &grid_kw).await);
    let mut ids = column(&mine, "记录编号");
    ids.sort();
    kw_ids.sort();
    assert_eq!(ids, kw_ids);
    assert_eq!(column(&csv_rows(&get(&h, CSV, &grid_wc).await), "记录编号"), [wc_id.to_string()]);

    // The filter narrows, as the console's does.
    let only =
        csv_rows(&get(&h, &format!("{CSV}?org={}&kind=report&text=%E6%BD%8D%E5%9F%8E", fixtures::OTHER_DISTRICT), &admin).await);
    assert_eq!(column(&only, "记录编号"), [wc_id.to_string()]);
    let none = csv_rows(&get(&h, &format!("{CSV}?kind=notice"), &admin).await);
    assert_eq!(none.len(), 1, "an empty selection is the header alone");
}

#[tokio::test]
async fn personal_columns_only_on_request_for_admins_and_officers_and_audited() {
    let h = harness().await;
    let (admin, officer, grid_kw) = (login(&h, "admin").await, login(&h, "officer.kw").await, login(&h, "grid.kw01").await);
    let officer_wc = login(&h, "officer.wc").await;
    let id = notice(&h, &officer).await;
    let audited = |h: &Harness| {
        let audit = h.state.stores().audit.clone();
        async move {
            audit
                .audit_page(0, 1000, None)
                .await
                .expect("audit")
                .into_iter()
                .filter(|e| e.action == "export_personal")
                .collect::<Vec<_>>()
        }
    };

    let plain = get(&h, CSV, &admin).await;
    let text = String::from_utf8_lossy(&plain.body).into_owned();
    assert!(text.contains(&id.to_string()));
    for secret in ["张某", "13805361234", "老张水果店"] {
        assert!(!text.contains(secret), "{secret} without the option");
    }
    let geo = get(&h, GEOJSON, &admin).await;
    assert!(!String::from_utf8_lossy(&geo.body).contains("13805361234"));
    assert!(audited(&h).await.is_empty(), "no personal data, no audit entry");

    let rows = csv_rows(&get(&h, &format!("{CSV}?personal=true"), &admin).await);
    assert_eq!(column(&rows, "当事人"), ["张某"]);
    assert_eq!(column(&rows, "店铺名称"), ["老张水果店"]);
    assert_eq!(column(&rows, "联系电话"), ["13805361234"]);
    let entries = audited(&h).await;
    assert_eq!(entries.len(), 1);
    let detail: Value = serde_json::from_str(&entries[0].detail).expect("detail");
    assert_eq!(detail["format"], "csv");
    assert_eq!(detail["rows"], 1);
    assert!(
        !entries[0].detail.contains("13805361234") && !entries[0].detail.contains("张某"),
        "the trail holds no personal data"
    );

    // The officer who issued it may; their colleague of another brigade sees none of it.
    let geo = get(&h, &format!("{GEOJSON}?personal=true"), &officer).await;
    assert_eq!(geo.status, StatusCode::OK);
    let v: Value = geo.json();
    assert_eq!(v["features"][0]["properties"]["party_phone"], "13805361234");
    let other = csv_rows(&get(&h, &format!("{CSV}?personal=true"), &officer_wc).await);
    assert_eq!(other.len(), 1, "another brigade's notice is out of scope");
    assert_eq!(audited(&h).await.len(), 3);

    // A grid worker may not ask for personal data at all.
    get(&h, &format!("{CSV}?personal=true"), &grid_kw).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(audited(&h).await.len(), 3, "a refused export is not one");
}

#[tokio::test]
async fn geojson_is_a_feature_collection_in_lon_lat_order_and_xlsx_a_workbook() {
    let h = harness().await;
    let (admin, grid_kw) = (login(&h, "admin").await, login(&h, "grid.kw01").await);
    let (id, op) = report(fixtures::COMMUNITY, fixtures::GRID, "=1+1 井盖缺失", 36.7071, 119.1620);
    push(&h, &grid_kw, vec![op]).await;

    let r = get(&h, GEOJSON, &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/geo+json");
    let v: Value = r.json();
    assert_eq!(v["type"], "FeatureCollection");
    let f = &v["features"][0];
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], json!(id.to_string()));
    assert_eq!(f["geometry"], json!({"type": "Point", "coordinates": [119.162, 36.7071]}), "longitude first");
    assert_eq!(f["properties"]["category"], "09006");
    assert_eq!(f["properties"]["text"], "=1+1 井盖缺失", "GeoJSON keeps the text as it is (no spreadsheet reads it)");
    assert!(f["properties"]["created_at"].as_str().is_some_and(|t| t.ends_with("+08:00")));
    let empty: Value = get(&h, &format!("{GEOJSON}?kind=case"), &admin).await.json();
    assert_eq!(empty, json!({"type": "FeatureCollection", "features": []}));

    let x = get(&h, XLSX, &admin).await;
    assert_eq!(x.status, StatusCode::OK);
    assert_eq!(x.header("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(x.body.starts_with(b"PK\x03\x04"), "a zip (the workbook is read back by openpyxl in tests/interop)");
}

#[tokio::test]
async fn a_selection_larger_than_a_search_page_is_streamed_whole_in_order() {
    let h = harness().await;
    let (admin, grid_kw) = (login(&h, "admin").await, login(&h, "grid.kw01").await);
    let n = gridwork_server::domain::query::MAX_PAGE as usize + 234;
    let mut all = Vec::new();
    for chunk in 0..n.div_ceil(500) {
        let ops: Vec<Value> = (0..500.min(n - chunk * 500))
            .map(|i| {
                let (id, op) = report(fixtures::COMMUNITY, fixtures::GRID, &format!("第{}条", chunk * 500 + i), 36.7, 119.16);
                all.push(id.to_string());
                op
            })
            .collect();
        push(&h, &grid_kw, ops).await;
    }
    let rows = csv_rows(&get(&h, &format!("{CSV}?sort=oldest"), &admin).await);
    let ids = column(&rows, "记录编号");
    assert_eq!(ids.len(), n);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), n, "no row twice across pages");
    let mut want = all.clone();
    want.sort();
    assert_eq!(unique, want);
    let v: Value = get(&h, GEOJSON, &admin).await.json();
    assert_eq!(v["features"].as_array().expect("features").len(), n);
}

#[tokio::test]
async fn bad_parameters_are_typed_errors_and_exports_need_a_session() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    for q in ["kind=person", "status=lost", "sort=random", "from=yesterday", "to=2026-13-01", "overdue=maybe", "bogus=1"] {
        let r = get(&h, &format!("{CSV}?{q}"), &admin).await;
        let body = r.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
        for value in ["person", "lost", "random", "yesterday", "maybe"] {
            assert!(!body.error.message.contains(value), "the message never repeats the value: {}", body.error.message);
        }
    }
    let long = "很".repeat(101);
    get(&h, &format!("{CSV}?text={long}"), &admin).await.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    for path in [CSV, XLSX, GEOJSON] {
        let r = send(&h.app, axum::http::Request::builder().method(Method::GET).uri(path), Body::empty()).await;
        r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn a_compressed_export_is_whole() {
    use std::io::Read;
    let h = harness().await;
    let (admin, grid_kw) = (login(&h, "admin").await, login(&h, "grid.kw01").await);
    let ops: Vec<Value> =
        (0..50).map(|i| report(fixtures::COMMUNITY, fixtures::GRID, &format!("压缩{i}"), 36.7, 119.16).1).collect();
    push(&h, &grid_kw, ops).await;
    let plain = get(&h, CSV, &admin).await;
    for path in [CSV, GEOJSON, XLSX] {
        let b = authed(Method::GET, path, &admin).header("accept-encoding", "gzip");
        let r = send(&h.app, b, Body::empty()).await;
        assert_eq!(r.status, StatusCode::OK);
        let mut out = Vec::new();
        if r.headers.get("content-encoding").is_some_and(|v| v == "gzip") {
            flate2::read::GzDecoder::new(&r.body[..]).read_to_end(&mut out).expect("a whole gzip stream");
        } else {
            out = r.body.clone();
        }
        if path == CSV {
            assert_eq!(out, plain.body, "the same bytes, compressed or not");
        }
        assert!(!out.is_empty());
    }
}
