//! Personal data never reaches a log: the shipped server runs with debug logging into a
//! file and the device cores log at debug level into memory, while an officer issues a
//! notice to a party (name, shop, phone) and changes the phone, an admin pulls it, reveals
//! the phone on the console and exports with personal data, and a citizen app files an
//! Open311 request with its contact fields. Then neither log holds any of those values, nor
//! a password, a token or a session cookie, though both logged plenty.

use gridwork_core::model::{Party, RecordBody};
use gridwork_core::protocol::{BodyPatch, NoticePatch, RecordPatch};
use gridwork_e2e::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The device cores' log, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A form body, percent-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(
                |b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") },
            )
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn hidden(page: &str, field: &str) -> String {
    let key = format!("name=\"{field}\" value=\"");
    let at = page.find(&key).unwrap_or_else(|| panic!("no {field} in the page")) + key.len();
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_the_servers_or_the_devices_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut server = Server::start_logging(&dir.path().join("server"), "debug", &log);

    // An officer's notice to a party, then the phone changed.
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    officer.sync().await.unwrap();
    let mut draft = notice(&officer, KW_GRID);
    if let RecordBody::Notice(n) = &mut draft.body {
        n.party = Party::new("司马光明", Some("光明鲜果行".into()), Some("13805369921".into()));
    }
    let issued = officer.create(draft).unwrap();
    officer.sync().await.unwrap();
    let party = Party::new("司马光明", Some("光明鲜果行".into()), Some("15966021877".into()));
    let patch = NoticePatch { party: Some(party), ..Default::default() };
    officer.update(issued.id, RecordPatch { body: Some(BodyPatch::Notice(patch)), ..Default::default() }).unwrap();
    officer.sync().await.unwrap();

    // The admin's device pulls it; an export with personal data.
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    let session = admin.context().session().unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let csv = http
        .get(format!("{}/v1/exports/records.csv?kind=notice&personal=true", server.url))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, admin.device_id().to_string())
        .send()
        .await
        .unwrap();
    assert!(csv.text().await.unwrap().contains("15966021877"), "the export has it (and the log must not)");

    // The console: sign in, reveal the phone (audited).
    let login_page = http.get(format!("{}/admin/login", server.url)).send().await.unwrap();
    let cookies_of = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let jar = cookies_of(&login_page);
    let token = hidden(&login_page.text().await.unwrap(), "_csrf");
    let signed = http
        .post(format!("{}/admin/login", server.url))
        .header("cookie", &jar)
        .header("origin", &server.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", token.as_str()), ("username", "admin"), ("password", PASSWORD), ("next", "/admin/queue")]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303, "signed in to the console");
    let jar = cookies_of(&signed);
    let page = http
        .get(format!("{}/admin/records/{}", server.url, issued.id))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("15966021877"), "masked until revealed");
    let csrf = hidden(&page, "_csrf");
    let revealed = http
        .post(format!("{}/admin/records/{}/reveal", server.url, issued.id))
        .header("cookie", &jar)
        .header("origin", &server.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", csrf.as_str()), ("field", "party_phone")]))
        .send()
        .await
        .unwrap();
    let shown = match revealed.status().as_u16() {
        303 => {
            let to = revealed.headers()["location"].to_str().unwrap().to_owned();
            http.get(format!("{}{to}", server.url)).header("cookie", &jar).send().await.unwrap().text().await.unwrap()
        }
        _ => revealed.text().await.unwrap(),
    };
    assert!(shown.contains("15966021877"), "revealed on the page");

    // A citizen app files an Open311 request with its contact fields.
    let client: serde_json::Value = http
        .post(format!("{}/v1/open311/clients", server.url))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, admin.device_id().to_string())
        .json(&serde_json::json!({"name": "市民随手拍", "grid": KW_GRID, "lat": 36.7069, "lon": 119.1617}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = client["api_key"].as_str().unwrap().to_owned();
    let filed = http
        .post(format!("{}/open311/v2/requests.json", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("api_key", key.as_str()),
            ("service_code", "09006"),
            ("address_string", "奎文区胜利东街"),
            ("description", "早市占道"),
            ("first_name", "欧阳"),
            ("last_name", "晓燕"),
            ("phone", "13305361155"),
            ("email", "ouyang.xy@example.org"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);

    server.stop();
    let server_log = std::fs::read_to_string(&log).unwrap();
    let device_log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(server_log.lines().count() > 20, "the server logged at debug level:\n{server_log}");
    for route in ["/v1/sync/push", "/admin/records/{id}/reveal", "/v1/exports/records.csv", "/{file}"] {
        assert!(server_log.contains(route), "the server logged the request to {route}:\n{server_log}");
    }
    assert!(device_log.lines().count() > 5, "the devices logged at debug level:\n{device_log}");
    let session_cookie = jar.split("; ").map(|c| c.split_once('=').map_or("", |(_, v)| v).to_owned()).collect::<Vec<_>>();
    let mut secrets: Vec<String> = [
        "司马光明",
        "光明鲜果行",
        "13805369921",
        "15966021877",
        "欧阳",
        "晓燕",
        "13305361155",
        "ouyang.xy@example.org",
        PASSWORD,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    secrets.push(session.token.clone());
    secrets.push(key);
    secrets.extend(session_cookie.into_iter().filter(|v| v.len() >= 16));
    for (name, text) in [("server", &server_log), ("device", &device_log)] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "the {name} log holds a secret ({} chars)", s.chars().count());
        }
    }
}
