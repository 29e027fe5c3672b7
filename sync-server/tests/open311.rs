//! Open311 GeoReport v2 through the whole router on a real SQLite store: services, client
//! keys, filing a request, reading it back in JSON and XML while its case runs to closed,
//! what the public never sees, and every error in the spec's own shape.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Harness, Login, Resp, authed, harness, login, send};
use gridwork_core::fixtures;
use serde_json::{Value, json};
use uuid::Uuid;

const BASE: &str = "/open311/v2";

async fn get(h: &Harness, path: &str) -> Resp {
    send(&h.app, Request::builder().method(Method::GET).uri(path), Body::empty()).await
}

async fn post_form(h: &Harness, path: &str, form: &[(&str, &str)]) -> Resp {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let b = Request::builder().method(Method::POST).uri(path).header("content-type", "application/x-www-form-urlencoded");
    send(&h.app, b, Body::from(body)).await
}

fn json_of(r: &Resp) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&r.body)))
}

fn text_of(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).expect("utf-8")
}

/// An Open311 error in JSON: the status, `[{"code": status, "description"}]`.
fn json_error(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", text_of(r));
    assert!(r.header("content-type").starts_with("application/json"));
    let v = json_of(r);
    assert_eq!(v[0]["code"], json!(status.as_u16()), "{v}");
    assert!(v[0]["description"].as_str().is_some_and(|d| !d.is_empty()));
}

fn xml_error(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{}", text_of(r));
    assert!(r.header("content-type").starts_with("text/xml"));
    let t = text_of(r);
    assert!(t.starts_with("<?xml") && t.contains(&format!("<errors><error><code>{}</code>", status.as_u16())), "{t}");
}

async fn v1_json(h: &Harness, method: Method, path: &str, who: &Login, body: Value) -> Resp {
    let b = authed(method, path, who).header("content-type", "application/json");
    send(&h.app, b, Body::from(body.to_string())).await
}

/// An Open311 client made by the admin: its api key.
async fn client(h: &Harness, admin: &Login) -> (String, Value) {
    let body = json!({"name": "市民随手拍App", "grid": fixtures::GRID, "lat": 36.7069, "lon": 119.1617});
    let r = v1_json(h, Method::POST, "/v1/open311/clients", admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text_of(&r));
    let v = json_of(&r);
    (v["api_key"].as_str().expect("key").to_owned(), v["client"].clone())
}

async fn push(h: &Harness, who: &Login, ops: Vec<Value>) -> Vec<Value> {
    let r = v1_json(h, Method::POST, "/v1/sync/push", who, json!({ "ops": ops })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text_of(&r));
    let results = json_of(&r)["results"].as_array().expect("results").clone();
    for res in &results {
        assert_eq!(res["outcome"], "accepted", "{res}");
    }
    results
}

fn hlc() -> String {
    format!("{:012x}-000000-testdevice", chrono::Utc::now().timestamp_millis())
}

fn step(case: Uuid, from: &str, action: Value) -> Value {
    json!({"op_id": Uuid::now_v7(), "record_id": case, "hlc": hlc(), "action": {"step": {"from": from, "action": action}}})
}

#[tokio::test]
async fn services_are_the_category_table_with_string_codes_in_json_and_xml() {
    let h = harness().await;
    let r = get(&h, &format!("{BASE}/services.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = json_of(&r);
    let list = v.as_array().expect("list");
    assert_eq!(list.len(), 3, "every 小类 of the fixture table: {v}");
    let stall = list.iter().find(|s| s["service_code"] == "09006").expect("占道经营");
    assert_eq!(stall["service_name"], "占道经营");
    assert_eq!(stall["group"], "街面秩序类");
    assert_eq!(stall["metadata"], false);
    assert_eq!(stall["type"], "realtime");
    assert!(list.iter().all(|s| s["service_code"].is_string()));

    let x = text_of(&get(&h, &format!("{BASE}/services.xml")).await);
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(x.contains("<service><service_code>01002</service_code><service_name>污水井盖</service_name>"), "{x}");

    let def = json_of(&get(&h, &format!("{BASE}/services/09006.json")).await);
    assert_eq!(def, json!({"service_code": "09006", "attributes": []}));
    let def = text_of(&get(&h, &format!("{BASE}/services/09006.xml")).await);
    assert!(def.contains("<service_definition><service_code>09006</service_code><attributes/></service_definition>"));
    json_error(&get(&h, &format!("{BASE}/services/99999.json")).await, StatusCode::NOT_FOUND);
    xml_error(&get(&h, &format!("{BASE}/services/06.xml")).await, StatusCode::NOT_FOUND);
    xml_error(&get(&h, &format!("{BASE}/services.html")).await, StatusCode::NOT_FOUND);
    xml_error(&get(&h, &format!("{BASE}/nothing/here")).await, StatusCode::NOT_FOUND);
    json_error(&get(&h, &format!("{BASE}/nothing.json")).await, StatusCode::NOT_FOUND);

    for ext in ["json", "xml"] {
        let d = get(&h, &format!("{BASE}/discovery.{ext}")).await;
        assert_eq!(d.status, StatusCode::OK);
    }
    let d = json_of(&get(&h, &format!("{BASE}/discovery.json")).await);
    assert_eq!(d["endpoints"][0]["formats"], json!(["text/xml", "application/json"]));
}

#[tokio::test]
async fn a_request_is_filed_read_back_and_follows_its_case_to_closed() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let (key, info) = client(&h, &admin).await;
    assert_eq!(info["grid"], fixtures::GRID);

    let form = [
        ("api_key", key.as_str()),
        ("service_code", "09006"),
        ("lat", "36.7071"),
        ("long", "119.1620"),
        ("address_string", "胜利东街与东风街路口"),
        ("description", "早市摊贩占道经营"),
        ("media_url", "https://img.example.org/a/1.jpg"),
        // Personal data: accepted, never kept.
        ("first_name", "张"),
        ("last_name", "三"),
        ("phone", "13805361234"),
        ("email", "zhangsan@example.org"),
    ];
    let r = post_form(&h, &format!("{BASE}/requests.json"), &form).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text_of(&r));
    let filed = json_of(&r);
    let id = filed[0]["service_request_id"].as_str().expect("id").to_owned();
    assert_eq!(filed[0]["token"], json!(id));
    let report_id = Uuid::parse_str(&id).expect("a uuid");

    // Read back, JSON and XML.
    let one = json_of(&get(&h, &format!("{BASE}/requests/{id}.json")).await);
    let req = &one[0];
    assert_eq!(req["status"], "open");
    assert_eq!(req["service_code"], "09006");
    assert_eq!(req["service_name"], "占道经营");
    assert_eq!(req["description"], "早市摊贩占道经营");
    assert_eq!(req["address"], "胜利东街与东风街路口");
    assert_eq!(req["lat"], json!(36.7071));
    assert_eq!(req["long"], json!(119.162));
    assert_eq!(req["media_url"], "https://img.example.org/a/1.jpg");
    assert_eq!(req["status_notes"], Value::Null);
    assert!(req["requested_datetime"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{req}");
    let xml = text_of(&get(&h, &format!("{BASE}/requests/{id}.xml")).await);
    assert!(xml.contains(&format!("<request><service_request_id>{id}</service_request_id><status>open</status>")), "{xml}");
    let token = json_of(&get(&h, &format!("{BASE}/tokens/{id}.json")).await);
    assert_eq!(token, json!([{"service_request_id": id, "token": id}]));

    // The report is in the case loop, by the client's service account, in its intake grid.
    let pulled = send(&h.app, authed(Method::GET, "/v1/sync/pull?since=0", &admin), Body::empty()).await;
    let pulled: Value = json_of(&pulled);
    let rec = pulled["records"].as_array().expect("records").iter().find(|r| r["id"] == json!(id)).expect("pulled").clone();
    assert_eq!(rec["author"], info["user_id"]);
    assert_eq!(rec["org"]["grid"], fixtures::GRID);
    assert_eq!(rec["status"], "submitted");
    let everything = String::from_utf8_lossy(&pulled.to_string().into_bytes()).into_owned();
    for secret in ["13805361234", "zhangsan", "张三"] {
        assert!(!everything.contains(secret), "{secret} was kept");
    }

    // 立案 → 派遣 → 处置 → 答复 → 核查.
    let case = Uuid::now_v7();
    let open = json!({"op_id": Uuid::now_v7(), "record_id": case, "hlc": hlc(), "action": {"create": {
        "org": {"community": fixtures::COMMUNITY, "grid": fixtures::GRID},
        "created_at": chrono::Utc::now(), "location": rec["location"], "status": "registered",
        "body": {"case": {"source": {"report": {"id": report_id}}, "category": "09006", "description": "早市占道经营"}}}}});
    push(&h, &admin, vec![open]).await;
    let listed = json_of(&get(&h, &format!("{BASE}/requests.json?status=open")).await);
    assert!(listed.as_array().expect("list").iter().any(|r| r["service_request_id"] == json!(id)));
    assert!(
        !listed.as_array().expect("list").iter().any(|r| r["service_request_id"] == json!(case.to_string())),
        "a case opened from a report is that report's request, not one of its own"
    );
    push(&h, &admin, vec![step(case, "registered", json!({"dispatch": {"to": {"unit": {"code": fixtures::DISTRICT}}}}))]).await;
    let req = json_of(&get(&h, &format!("{BASE}/requests/{id}.json")).await)[0].clone();
    assert_eq!(req["status"], "open");
    assert!(req["agency_responsible"].as_str().is_some_and(|a| a.ends_with("执法中队")), "{req}");
    assert!(req["expected_datetime"].as_str().is_some_and(|t| t.ends_with("+08:00")), "{req}");
    push(
        &h,
        &admin,
        vec![
            step(case, "dispatched", json!("handle")),
            json!({"op_id": Uuid::now_v7(), "record_id": case, "hlc": hlc(), "action": {"step": {"from": "handled", "action": "note", "note": "内部备注：当事人态度差"}}}),
            step(case, "handled", json!({"reply": {"text": "已安排执法队员现场处置，摊贩已劝离。"}})),
            step(case, "handled", json!({"verify": {"passed": true}})),
        ],
    )
    .await;
    let req = json_of(&get(&h, &format!("{BASE}/requests/{id}.json")).await)[0].clone();
    assert_eq!(req["status"], "closed");
    assert_eq!(req["status_notes"], "已安排执法队员现场处置，摊贩已劝离。");
    assert_eq!(req["expected_datetime"], Value::Null, "a closed case has no deadline to show");
    assert!(!req.to_string().contains("内部备注"), "internal notes never show");
    let xml = text_of(&get(&h, &format!("{BASE}/requests/{id}.xml")).await);
    assert!(xml.contains("<status>closed</status><status_notes>已安排执法队员现场处置，摊贩已劝离。</status_notes>"), "{xml}");

    for (q, has) in [("status=closed", true), ("status=open", false), ("status=open,closed", true), ("service_code=06036", false)]
    {
        let l = json_of(&get(&h, &format!("{BASE}/requests.json?{q}")).await);
        assert_eq!(l.as_array().expect("list").iter().any(|r| r["service_request_id"] == json!(id)), has, "{q}");
    }
    let by_id = json_of(&get(&h, &format!("{BASE}/requests.json?service_request_id={id},{}&status=open", Uuid::now_v7())).await);
    assert_eq!(by_id.as_array().expect("list").len(), 1, "ids override the other filters; unknown ids are skipped");
}

#[tokio::test]
async fn keys_are_checked_and_bad_requests_are_400_in_the_spec_shape() {
    let h = harness().await;
    let admin = login(&h, "admin").await;
    let (key, info) = client(&h, &admin).await;
    let path = format!("{BASE}/requests.json");
    let xml_path = format!("{BASE}/requests.xml");
    let ok = |k: &'static str| [("api_key", k), ("service_code", "09006"), ("lat", "36.7"), ("long", "119.1")];
    json_error(&post_form(&h, &path, &ok("")).await, StatusCode::FORBIDDEN);
    json_error(&post_form(&h, &path, &ok("wrong")).await, StatusCode::FORBIDDEN);
    xml_error(&post_form(&h, &xml_path, &[("api_key", &"0".repeat(64)), ("service_code", "09006")]).await, StatusCode::FORBIDDEN);

    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![("api_key", key.clone()), ("service_code", "09006".into())];
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    for extra in [
        vec![("lat", "36.7")],
        vec![],
        vec![("lat", "91"), ("long", "119")],
        vec![("lat", "abc"), ("long", "119")],
        vec![("address_id", "12345")],
        vec![("lat", "36.7"), ("long", "119.1"), ("media_url", "javascript:alert(1)")],
    ] {
        let f = with(&extra);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        json_error(&post_form(&h, &path, &pairs).await, StatusCode::BAD_REQUEST);
    }
    let long = "长".repeat(501);
    let f = [("api_key", key.as_str()), ("service_code", "09006"), ("address_string", "奎文区"), ("description", long.as_str())];
    let r = post_form(&h, &path, &f).await;
    json_error(&r, StatusCode::BAD_REQUEST);
    assert!(json_of(&r)[0]["description"].as_str().expect("text").contains("description"), "the push's own rule names the field");
    let f = [("api_key", key.as_str()), ("service_code", "99999"), ("address_string", "奎文区")];
    json_error(&post_form(&h, &path, &f).await, StatusCode::BAD_REQUEST);
    let b = Request::builder().method(Method::POST).uri(&path).header("content-type", "application/json");
    json_error(&send(&h.app, b, Body::from("{}")).await, StatusCode::BAD_REQUEST);

    // An address alone is placed at the client's intake point.
    let f = [("api_key", key.as_str()), ("service_code", "06036"), ("address_string", "东风街123号楼道")];
    let r = post_form(&h, &xml_path, &f).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text_of(&r));
    assert!(text_of(&r).contains("<service_request_id>"));

    // api_key in the query string, as some clients send it.
    let r =
        post_form(&h, &format!("{path}?api_key={key}"), &[("service_code", "09006"), ("lat", "36.7"), ("long", "119.1")]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text_of(&r));

    // Revoked: 403 from then on.
    let id = info["id"].as_str().expect("id");
    let r = send(&h.app, authed(Method::DELETE, &format!("/v1/open311/clients/{id}"), &admin), Body::empty()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let f = [("api_key", key.as_str()), ("service_code", "09006"), ("lat", "36.7"), ("long", "119.1")];
    json_error(&post_form(&h, &path, &f).await, StatusCode::FORBIDDEN);
    let list = json_of(&send(&h.app, authed(Method::GET, "/v1/open311/clients", &admin), Body::empty()).await);
    assert!(list[0]["revoked_at"].is_string(), "{list}");
    assert!(!list.to_string().contains(&key), "keys are never listed");

    // Query errors.
    for q in
        ["status=pending", "page=0", "page_size=1001", "start_date=yesterday", "service_code=00000", "service_request_id=abc"]
    {
        json_error(&get(&h, &format!("{BASE}/requests.json?{q}")).await, StatusCode::BAD_REQUEST);
    }
    json_error(
        &get(&h, &format!("{BASE}/requests.json?start_date=2026-01-01&end_date=2026-06-01")).await,
        StatusCode::BAD_REQUEST,
    );
    json_error(&get(&h, &format!("{BASE}/requests/{}.json", Uuid::now_v7())).await, StatusCode::NOT_FOUND);
    xml_error(&get(&h, &format!("{BASE}/requests/not-an-id.xml")).await, StatusCode::NOT_FOUND);
    xml_error(&get(&h, &format!("{BASE}/tokens/x.xml")).await, StatusCode::NOT_FOUND);
    let r = send(&h.app, Request::builder().method(Method::DELETE).uri(format!("{BASE}/services.json")), Body::empty()).await;
    json_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    // An empty list is `[]`, not 404.
    let l = get(&h, &format!("{BASE}/requests.json?service_code=01002")).await;
    assert_eq!(l.status, StatusCode::OK);
    assert_eq!(json_of(&l), json!([]));
    let l = text_of(&get(&h, &format!("{BASE}/requests.xml?service_code=01002")).await);
    assert!(l.ends_with("<service_requests></service_requests>"), "{l}");
}

#[tokio::test]
async fn only_admins_manage_clients_and_notices_are_never_public() {
    let h = harness().await;
    let officer = login(&h, "officer.kw").await;
    let body = json!({"name": "x", "grid": fixtures::GRID, "lat": 36.7, "lon": 119.1});
    v1_json(&h, Method::POST, "/v1/open311/clients", &officer, body.clone()).await.error(StatusCode::FORBIDDEN, "forbidden");
    send(&h.app, authed(Method::GET, "/v1/open311/clients", &officer), Body::empty())
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let admin = login(&h, "admin").await;
    let bad = json!({"name": "x", "grid": fixtures::COMMUNITY, "lat": 36.7, "lon": 119.1});
    v1_json(&h, Method::POST, "/v1/open311/clients", &admin, bad)
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    let r = send(&h.app, authed(Method::DELETE, &format!("/v1/open311/clients/{}", Uuid::now_v7()), &admin), Body::empty()).await;
    r.error(StatusCode::NOT_FOUND, "not_found");

    // A notice (with its party) filed by the officer never appears.
    let notice = fixtures::records().remove(1);
    let mut op =
        serde_json::to_value(fixtures::create_op(notice.clone(), gridwork_core::hlc::Hlc::new(1, 0, "dev"))).expect("op");
    op["hlc"] = json!(hlc());
    op["action"]["create"]["created_at"] = json!(chrono::Utc::now());
    op["action"]["create"]["body"]["notice"]["deadline"] = json!((chrono::Utc::now() + chrono::Duration::days(3)).date_naive());
    // A notice's number comes from a block issued to the officer's device.
    let block = v1_json(&h, Method::POST, "/v1/numbers/blocks", &officer, json!({"count": 1})).await;
    assert_eq!(block.status, StatusCode::OK, "{}", text_of(&block));
    let block: gridwork_core::numbering::NumberBlock = block.json();
    op["action"]["create"]["body"]["notice"]["number"] =
        json!(gridwork_core::numbering::format_number(&block.prefix, block.year, block.first));
    push(&h, &officer, vec![op]).await;
    json_error(&get(&h, &format!("{BASE}/requests/{}.json", notice.id)).await, StatusCode::NOT_FOUND);
    let all = text_of(&get(&h, &format!("{BASE}/requests.json")).await);
    assert!(!all.contains(&notice.id.to_string()) && !all.contains("张某"), "{all}");
}
