//! The admin console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) against the shipped `gridwork-server` with the demo city, and device cores
//! on both sides of it: sign in; filter to one community's overdue cases; search a case
//! number with the keyboard; open a report filed from a phone and see its photo load; 立案
//! and 派遣 it and see the case reach the officer's phone; reply and see it on the
//! reporter's phone; reveal a phone number and find the reveal in the audit trail; bulk
//! 作废 with a reason; a form posted from another origin refused; a read-only officer sees
//! no action buttons and gets 403 on a forged form; an account made on the accounts page
//! and its phone enrolled by the console's QR code (read back from a screenshot with
//! zbarimg); the bulletin; a photo approved for the public; the table following the map's
//! view. The browser's console must stay free
//! of errors on every page; a screenshot of each main page is written to
//! `target/screenshots/console/` (or `GRIDWORK_SCREENSHOTS`).
//!
//! Needs `chromedriver` and `chromium` (Debian: `chromium chromium-driver`). Without them the
//! test fails when `CI=true` and is skipped (with a message) otherwise.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use gridwork_core::cases::Case;
use gridwork_core::model::{Record, RecordBody, Report};
use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::{Device, Draft};
use gridwork_e2e::*;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// An executable on `PATH` (or at the env override `var`).
fn find_exe(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// chromedriver and chromium, or why not.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let driver = find_exe("CHROMEDRIVER", &["chromedriver"]).ok_or("chromedriver is not on PATH")?;
    let chromium = find_exe("CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]).ok_or("chromium is not on PATH")?;
    Ok((driver, chromium))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A chromedriver process, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(exe: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{url}/status")).await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser session, with the console server's address, a place for screenshots and
/// the WebDriver URL to read the browser's console log from.
struct Browser {
    c: Client,
    base: String,
    driver: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, chromium: &Path, profile: &Path, base: &str) -> Browser {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session in Chromium");
        let shots = std::env::var_os("GRIDWORK_SCREENSHOTS").map(PathBuf::from).unwrap_or_else(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
            let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
            target.join("screenshots").join("console")
        });
        std::fs::create_dir_all(&shots).expect("screenshot directory");
        Browser { c, base: base.to_owned(), driver: driver.url.clone(), shots }
    }

    async fn goto(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    async fn path(&self) -> String {
        let u = self.c.current_url().await.expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.c.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("{css} on {}: {e}", self.path().await),
        }
    }

    async fn exists(&self, css: &str) -> bool {
        !self.c.find_all(Locator::Css(css)).await.expect("find_all").is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// The text of `css` now, or empty if it is not there or was just replaced (a page
    /// navigating under a poll): for `until` conditions.
    async fn text_now(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn select(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// Poll until `cond` holds on the current page (htmx swaps, navigations).
    async fn until<F, Fut>(&self, what: &str, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !cond().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}", self.path().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_path(&self, prefix: &str) {
        self.until(&format!("a page at {prefix}"), || async { self.path().await.starts_with(prefix) }).await;
        // The page's scripts have run.
        self.until("the page to load", || async {
            self.c.execute("return document.readyState", vec![]).await.ok() == Some(json!("complete"))
        })
        .await;
    }

    /// What the browser's console logged since the last call.
    async fn console_log(&self) -> Vec<Value> {
        let id = self.c.session_id().await.expect("session").expect("an id");
        let r = reqwest::Client::new()
            .post(format!("{}/session/{id}/se/log", self.driver))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("read the browser log");
        let v: Value = r.json().await.expect("log json");
        // An error answer would read as a clean log: refuse it.
        v["value"].as_array().cloned().unwrap_or_else(|| panic!("chromedriver gave no browser log: {v}"))
    }

    /// No errors in the browser's console on this page so far (then a screenshot of it).
    async fn clean(&self, name: &str) {
        let errors: Vec<Value> = self.console_log().await.into_iter().filter(|e| e["level"] == "SEVERE").collect();
        assert!(errors.is_empty(), "console errors on {}: {errors:#?}", self.path().await);
        self.shot(name).await;
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Forget what the console logged (a page that is an expected error answer logs its
    /// status as a failed resource).
    async fn drain_log(&self) {
        self.console_log().await;
    }

    async fn sign_in(&self, username: &str) {
        self.goto("/admin/login").await;
        self.fill("#username", username).await;
        self.fill("#password", PASSWORD).await;
        self.click("#login-submit").await;
        self.wait_path("/admin/queue").await;
    }

    async fn sign_out(&self) {
        self.click("#logout").await;
        self.wait_path("/admin/login").await;
        assert!(self.path().await.contains("out=1"));
    }

    /// The ids of the table's rows.
    async fn row_ids(&self) -> Vec<String> {
        let v = self
            .c
            .execute("return Array.from(document.querySelectorAll('table.records tbody tr')).map(r => r.dataset.id)", vec![])
            .await
            .expect("rows");
        serde_json::from_value(v).expect("ids")
    }

    /// The table's rows as the page shows them: kind, overdue mark, 状态 and 区域 columns.
    async fn rows(&self) -> Vec<ShownRow> {
        let js = "var head = Array.from(document.querySelectorAll('table.records thead th')).map(h => h.innerText);\
                  var col = n => head.findIndex(h => h.indexOf(n) === 0);\
                  var st = col('状态'), pl = col('区域');\
                  return Array.from(document.querySelectorAll('table.records tbody tr')).map(r => ({\
                    id: r.dataset.id, kind: r.dataset.kind, late: r.classList.contains('late'),\
                    status: r.cells[st].innerText, place: r.cells[pl].innerText}))";
        let v = self.c.execute(js, vec![]).await.expect("rows");
        let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_else(|| panic!("{k} of {r}")).to_owned();
        v.as_array()
            .expect("rows")
            .iter()
            .map(|r| ShownRow {
                id: s(r, "id"),
                kind: s(r, "kind"),
                late: r["late"].as_bool().expect("late"),
                status: s(r, "status"),
                place: s(r, "place"),
            })
            .collect()
    }

    /// Press one key (WebDriver key actions: down, then up) on whatever has the focus.
    async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.c.perform_actions(keys).await.unwrap_or_else(|e| panic!("key {key:?}: {e}"));
    }

    /// The id of the element that has the keyboard's focus.
    async fn focused(&self) -> String {
        let v = self.c.execute("return document.activeElement ? document.activeElement.id : ''", vec![]).await.expect("focus");
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Press Tab until `id` has the focus (the page's own tab order: nothing is focused
    /// by script).
    async fn tab_to(&self, id: &str) {
        for _ in 0..150 {
            if self.focused().await == id {
                return;
            }
            self.press(TAB).await;
        }
        panic!("Tab never reached #{id} on {} (last focus: #{})", self.path().await, self.focused().await);
    }

    /// With a select box focused, press ArrowDown until it holds `value`.
    async fn arrow_to(&self, id: &str, value: &str) {
        assert_eq!(self.focused().await, id);
        for _ in 0..100 {
            let now = self.find(&format!("#{id}")).await.prop("value").await.unwrap().unwrap_or_default();
            if now == value {
                return;
            }
            self.press(ARROW_DOWN).await;
        }
        panic!("ArrowDown never chose {value} in #{id}");
    }

    async fn total(&self) -> u64 {
        let t = self.text("#total").await;
        t.trim_start_matches("共").trim().trim_end_matches('条').trim().parse().unwrap_or_else(|_| panic!("total {t}"))
    }
}

const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';
const SPACE: char = '\u{E00D}';
const ARROW_DOWN: char = '\u{E015}';

/// A row of the records table, as shown.
#[derive(Debug)]
struct ShownRow {
    id: String,
    kind: String,
    late: bool,
    status: String,
    place: String,
}

fn case(r: &Record) -> &Case {
    match &r.body {
        RecordBody::Case(c) => c,
        other => panic!("not a case: {other:?}"),
    }
}

fn shown(d: &Device, id: Uuid) -> Option<Record> {
    d.get(id).expect("get").map(|r| r.record.record)
}

/// A page on another origin that posts a form to the console as soon as it loads.
async fn evil_site(target: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://localhost:{}/", listener.local_addr().expect("addr").port());
    let page = format!(
        "<!doctype html><html><body><form id=f method=post action=\"{target}\">\
         <input name=field value=party_phone><input name=_csrf value=guessed></form>\
         <script>document.getElementById('f').submit()</script></body></html>"
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let (driver_exe, chromium) = match browser_tools() {
        Ok(t) => t,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{why}: the console's browser test needs Debian's `chromium` and `chromium-driver` in CI")
        }
        Err(why) => {
            eprintln!("SKIPPED the console's browser test: {why} (install `chromium chromium-driver`)");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));

    // 随手拍 from a grid worker's phone: three reports, one with a photo.
    let reporter = logged_in(dir.path(), "reporter", &server.url, "grid.kw01").await;
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    officer.sync().await.unwrap();
    let photo_file = dir.path().join("rubbish.jpg");
    std::fs::write(&photo_file, sample_jpeg(1600, 1200, 88, 3, None)).unwrap();
    let photo = reporter.take_photo(&photo_file, None).unwrap();
    let tag = format!("浏览器测试{}", &Uuid::now_v7().simple().to_string()[24..]);
    let mut draft: Draft = report(&reporter, KW_GRID, &format!("{tag} 路边暴露垃圾"));
    draft.body = RecordBody::Report(Report {
        category: "06036".into(),
        description: format!("{tag} 路边暴露垃圾"),
        photos: vec![photo],
        duplicate_of: None,
    });
    let rubbish = reporter.create(draft).unwrap();
    let dup1 = reporter.create(report(&reporter, KW_GRID, &format!("{tag} 重复上报一"))).unwrap();
    let dup2 = reporter.create(report(&reporter, KW_GRID, &format!("{tag} 重复上报二"))).unwrap();
    let by_keys = reporter.create(report(&reporter, KW_GRID, &format!("{tag} 键盘办理 占道经营"))).unwrap();
    let rep = reporter.sync().await.unwrap();
    assert_eq!((rep.rejected, rep.photos_uploaded), (0, 1));

    let driver = Driver::start(&driver_exe).await;
    let b = Browser::open(&driver, &chromium, &dir.path().join("chromium"), &server.url).await;

    // Sign in (a wrong password first: the device API's answer).
    b.goto("/admin/login").await;
    b.clean("01-login").await;
    b.fill("#username", "admin").await;
    b.fill("#password", "not-the-password").await;
    b.click("#login-submit").await;
    assert!(b.text("#login-error").await.contains("invalid_credentials"));
    b.drain_log().await; // the 401 of that answer
    b.sign_in("admin").await;
    // The log check sees errors (so a clean page is clean): one made on purpose.
    b.c.execute("console.error('gridwork self-check')", vec![]).await.unwrap();
    let seen = b.console_log().await;
    assert!(
        seen.iter().any(|e| e["level"] == "SEVERE" && e["message"].as_str().is_some_and(|m| m.contains("gridwork self-check"))),
        "{seen:?}"
    );
    b.clean("02-queue").await;

    // Filter to overdue cases with the form (htmx swaps the table and the URL follows).
    b.goto("/admin/records").await;
    b.clean("03-records").await;
    b.select("#f-kind", "case").await;
    b.click("#f-overdue").await;
    b.click("#f-apply").await;
    b.until("the URL to carry the filter", || async {
        let p = b.path().await;
        p.contains("kind=case") && p.contains("overdue=1")
    })
    .await;
    b.until("the overdue rows", || async { b.exists("table.records tbody tr.late").await }).await;
    let overdue = b.row_ids().await;
    assert!(!overdue.is_empty(), "the demo city has overdue cases");
    let all_overdue = b.rows().await;
    let overdue_total = b.total().await;
    assert_eq!(b.c.find_all(Locator::Css("table.records tbody tr:not(.late)")).await.unwrap().len(), 0);
    // The community of the first, then that community only.
    b.click("table.records tbody tr a.open").await;
    b.wait_path("/admin/records/").await;
    let grid = b.text("#field-grid").await;
    let community = grid.rsplit('（').next().unwrap().trim_end_matches('）').split('-').next().unwrap().to_owned();
    assert_eq!(community.len(), 12, "{grid}");
    // `奎文区 东关街道 胜利东街社区 第1网格（…）`: the community's name, as the table's 区域 shows it.
    let community_name = grid.split_whitespace().nth(2).unwrap_or_else(|| panic!("a community in {grid}")).to_owned();
    assert!(community_name.ends_with("社区"), "{grid}");
    b.goto(&format!("/admin/records?kind=case&overdue=1&org={community}")).await;
    let in_community = b.rows().await;
    let ids: Vec<&str> = in_community.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&overdue[0].as_str()), "the case the community was read from is in its list: {ids:?}");
    // Every row shown is an overdue case of that community, as the page shows it.
    for r in &in_community {
        assert_eq!(r.kind, "case", "{r:?}");
        assert!(r.late && r.status.contains("超期"), "not shown overdue: {r:?}");
        assert!(r.place.split_whitespace().any(|p| p == community_name), "not in {community_name}: {r:?}");
    }
    // And none is missing: each overdue case the unfiltered list showed in that community.
    let community_total = b.total().await;
    assert_eq!(community_total as usize, in_community.len(), "all on one page");
    assert!(community_total <= overdue_total, "{community_total} of {overdue_total}");
    for r in all_overdue.iter().filter(|r| r.place.split_whitespace().any(|p| p == community_name)) {
        assert!(ids.contains(&r.id.as_str()), "{r:?} is missing from the community's list");
    }
    // The last of them, opened: its grid is in that community, and it is marked overdue.
    let last = &in_community.last().unwrap().id;
    b.goto(&format!("/admin/records/{last}")).await;
    assert!(b.text("#field-grid").await.contains(&format!("（{community}-")), "{last}");
    assert!(b.text("#record-title").await.contains("超期"));
    b.goto(&format!("/admin/records?kind=case&overdue=1&org={community}")).await;
    assert_eq!(
        b.find("#f-org").await.prop("value").await.unwrap().as_deref(),
        Some(community.as_str()),
        "the form shows the URL's filter"
    );
    b.clean("04-overdue-in-community").await;

    // Search a case number, with the keyboard alone: focus the box, type, Enter.
    b.goto("/admin/records?kind=case").await;
    let number = b.text("table.records tbody tr a.open").await;
    assert!(number.len() > 10, "{number}");
    b.goto("/admin/records").await;
    let q = b.find("#f-q").await;
    q.send_keys(&number).await.unwrap();
    q.send_keys("\u{E007}").await.unwrap(); // Enter
    b.until("the search to narrow the table", || async { b.path().await.contains("q=") && b.row_ids().await.len() == 1 }).await;
    assert_eq!(b.text("table.records tbody tr a.open").await, number);
    assert_eq!(b.total().await, 1);
    b.clean("05-search").await;

    // The phone's report: its photo loads.
    b.goto(&format!("/admin/records/{}", rubbish.id)).await;
    b.find(".before-after img").await;
    b.until("the photo to load", || async {
        let js = "var i=document.querySelector('.before-after img'); return i.complete ? i.naturalWidth : 0";
        b.c.execute(js, vec![]).await.ok().and_then(|v| v.as_u64()).unwrap_or(0) > 0
    })
    .await;
    b.clean("06-report-with-photo").await;
    // Full size opens from the thumbnail.
    let href = b.find(".before-after a.thumb").await.attr("href").await.unwrap().unwrap();
    assert!(href.starts_with("/admin/photos/"), "{href}");

    // 立案 and 派遣 to the officer at once.
    let officer_id = officer.current_user().unwrap().id;
    assert_eq!(b.find("#open-category").await.prop("value").await.unwrap().as_deref(), Some("06036"));
    b.select("#open-to", &format!("officer:{officer_id}")).await;
    b.click("#open-submit").await;
    b.until("the new case", || async { b.path().await.contains("done=open_case") }).await;
    assert_eq!(b.text("#flash").await, "已立案");
    assert_eq!(b.text("#record-status").await, "处置中");
    let case_path = b.path().await;
    let case_id: Uuid = case_path.trim_start_matches("/admin/records/").split('?').next().unwrap().parse().unwrap();
    let case_number = b.text("#record-number").await;
    assert!(case_number.starts_with("370705-"), "{case_number}");
    b.clean("07-case").await;
    // It reaches the officer's phone.
    officer.sync().await.unwrap();
    let on_phone = shown(&officer, case_id).expect("the case is on the officer's phone");
    assert_eq!(case(&on_phone).number.as_deref(), Some(case_number.as_str()));
    assert_eq!(case(&on_phone).assignee, Some(gridwork_core::cases::Assignee::Officer { user_id: officer_id.clone() }));

    // Reply to the reporter (a template fills the text, which stays editable).
    b.select("#reply-template", &b.find("#reply-template option:nth-child(2)").await.attr("value").await.unwrap().unwrap()).await;
    let filled = b.find("#reply-text").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(filled.contains("派遣至王建国"), "the template of this stage names the assignee: {filled}");
    b.fill("#reply-text", "您反映的问题已派遣至奎文执法中队，将尽快处置。").await;
    b.click("#reply-submit").await;
    b.until("the reply", || async { b.path().await.contains("done=reply") }).await;
    assert!(b.text("#field-reply").await.contains("已派遣至奎文执法中队"));
    reporter.sync().await.unwrap();
    let seen = shown(&reporter, case_id).expect("the case is on the reporter's phone");
    assert_eq!(case(&seen).reply.as_deref(), Some("您反映的问题已派遣至奎文执法中队，将尽快处置。"));
    b.clean("08-case-replied").await;

    // The main flow with the keyboard alone (WebDriver key actions, no clicks, nothing
    // focused by script): Tab to each control in the page's order, arrows in the select
    // boxes, Enter or Space on the buttons. 立案 (not yet dispatched), then 派遣 to the
    // officer, then a reply from a template; each reaches the phones.
    b.goto(&format!("/admin/records/{}", by_keys.id)).await;
    b.wait_path("/admin/records/").await;
    b.tab_to("open-submit").await;
    b.press(ENTER).await;
    b.until("the case opened by the keyboard", || async { b.path().await.contains("done=open_case") }).await;
    b.wait_path("/admin/records/").await;
    assert_eq!(b.text("#flash").await, "已立案");
    assert_eq!(b.text("#record-status").await, "已立案", "立案 only: it waits for 派遣");
    let keyed_case: Uuid = b.path().await.trim_start_matches("/admin/records/").split('?').next().unwrap().parse().unwrap();
    assert_ne!(keyed_case, by_keys.id);
    b.tab_to("dispatch-to").await;
    b.arrow_to("dispatch-to", &format!("officer:{officer_id}")).await;
    b.tab_to("dispatch-submit").await;
    b.press(SPACE).await;
    b.until("the 派遣 by the keyboard", || async { b.path().await.contains("done=dispatch") }).await;
    b.wait_path("/admin/records/").await;
    assert_eq!(b.text("#flash").await, "已派遣");
    assert_eq!(b.text("#record-status").await, "处置中");
    assert!(b.text("#timeline").await.contains("派遣"), "the timeline has the step");
    b.tab_to("reply-template").await;
    b.press(ARROW_DOWN).await; // the first template; it fills the text and moves the focus there
    b.until("the template's text", || async {
        b.find("#reply-text").await.prop("value").await.unwrap().is_some_and(|v| v.contains("派遣至王建国"))
    })
    .await;
    let keyed_reply = b.find("#reply-text").await.prop("value").await.unwrap().unwrap();
    b.tab_to("reply-submit").await;
    b.press(ENTER).await;
    b.until("the reply by the keyboard", || async { b.path().await.contains("done=reply") }).await;
    b.wait_path("/admin/records/").await;
    assert_eq!(b.text("#field-reply").await, keyed_reply.trim());
    b.clean("08b-case-by-keyboard").await;
    officer.sync().await.unwrap();
    let on_phone = shown(&officer, keyed_case).expect("the keyboard's case is on the officer's phone");
    assert_eq!(on_phone.status, gridwork_core::model::Status::Dispatched);
    assert_eq!(case(&on_phone).assignee, Some(gridwork_core::cases::Assignee::Officer { user_id: officer_id.clone() }));
    reporter.sync().await.unwrap();
    let seen = shown(&reporter, keyed_case).expect("the keyboard's case is on the reporter's phone");
    assert_eq!(case(&seen).reply.as_deref(), Some(keyed_reply.trim()));

    // Reveal a party's phone: masked, then shown, then in the audit trail.
    b.goto("/admin/records?kind=notice&org=370705").await; // 奎文区: the officer below may see it
    b.click("table.records tbody tr a.open").await;
    b.wait_path("/admin/records/").await;
    let notice_path = b.path().await;
    let notice_id = notice_path.trim_start_matches("/admin/records/").to_owned();
    let masked = b.text("#personal-party_phone").await;
    assert!(masked.contains("****"), "{masked}");
    b.clean("09-notice-masked").await;
    b.click("#reveal-party_phone").await;
    b.until("the revealed phone", || async { b.exists("#personal-party_phone.revealed").await }).await;
    let phone = b.text("#personal-party_phone").await;
    assert!(!phone.contains('*') && phone.chars().filter(char::is_ascii_digit).count() >= 7, "{phone}");
    assert!(!b.path().await.contains(&phone), "never in a URL");
    b.clean("10-notice-revealed").await;
    b.goto(&format!("/admin/audit?target={notice_id}")).await;
    let audit = b.text("#audit").await;
    assert!(audit.contains("reveal") && audit.contains("party_phone"), "{audit}");
    assert!(!audit.contains(&phone), "the trail never holds the value");
    b.clean("11-audit").await;
    // 校验链 from the page (the filter kept), then the trail by action.
    b.click("#verify-chain").await;
    b.until("the chain's verdict", || async { b.exists("#chain-verdict").await }).await;
    let verdict = b.text("#chain-verdict").await;
    assert!(verdict.contains("链完整") && verdict.contains("chain intact"), "{verdict}");
    assert!(b.path().await.contains(&format!("target={notice_id}")), "{}", b.path().await);
    b.select("#audit-action", "reveal").await;
    b.click("#audit-filters button[type=submit]").await;
    b.until("the action filter", || async { b.path().await.contains("action=reveal") }).await;
    assert!(b.text("#audit").await.contains("查看个人信息"));
    b.clean("11b-audit-verified").await;

    // Bulk 作废 with a reason, on the two selected rows.
    b.goto(&format!("/admin/records?q={}", urlencode(&format!("{tag} 重复上报")))).await;
    assert_eq!(b.total().await, 2);
    b.click("#select-all").await;
    b.select("#bulk-action", "void").await;
    b.fill("#bulk-reason", "重复上报").await;
    b.clean("12-bulk").await;
    b.click("#bulk-selected").await;
    b.wait_path("/admin/bulk").await;
    assert_eq!(b.text("#bulk-accepted").await, "2");
    assert_eq!(b.text("#bulk-rejected").await, "0");
    b.clean("13-bulk-done").await;
    reporter.sync().await.unwrap();
    for id in [dup1.id, dup2.id] {
        assert_eq!(shown(&reporter, id).unwrap().status, gridwork_core::model::Status::Voided);
    }

    // The other main pages, clean.
    for (path, name) in [("/admin/figures", "14-figures"), ("/admin/map", "15-map"), ("/admin/queue", "16-queue")] {
        b.goto(path).await;
        b.wait_path(path).await;
        if path == "/admin/map" {
            // Drawn on a canvas (no tile server): the outlines' layer, then the points.
            b.until("the map's outlines and points", || async {
                b.exists(".leaflet-overlay-pane canvas").await && b.exists("#map[data-loaded][data-outlines-shown]").await
            })
            .await;
            let points: u64 = b.find("#map").await.attr("data-loaded").await.unwrap().unwrap().parse().unwrap();
            assert!(points > 0, "the demo city's records are on the map");
            assert!(b.text("#map-count").await.contains(&format!("{points} 个点")));
            // The GCJ-02 shift used with Chinese web tiles, against the reference vector of
            // the common implementations (coordtransform, eviltransform, Hutool): WGS-84
            // 39.915, 116.404 → GCJ-02 39.91640428150164, 116.41024449916938; back to
            // WGS-84 within a few metres; points outside China unchanged.
            let js = "const c = window.gridworkCoords; return [c.toGcj(39.915, 116.404), \
                      c.toWgs(39.91640428150164, 116.41024449916938), c.toGcj(48.8566, 2.3522)];";
            let got: Vec<Vec<f64>> = serde_json::from_value(b.c.execute(js, vec![]).await.expect("coords")).expect("numbers");
            let near = |p: &[f64], lat: f64, lon: f64, tol: f64| (p[0] - lat).abs() < tol && (p[1] - lon).abs() < tol;
            assert!(near(&got[0], 39.91640428150164, 116.41024449916938, 1e-9), "WGS-84 → GCJ-02: {:?}", got[0]);
            assert!(near(&got[1], 39.915, 116.404, 5e-5), "GCJ-02 → WGS-84: {:?}", got[1]);
            assert!(near(&got[2], 48.8566, 2.3522, 1e-12), "outside China unchanged: {:?}", got[2]);
        }
        b.clean(name).await;
    }

    // Accounts and devices: a new grid worker, then their phone enrolled by the QR code the
    // console shows, decoded from a screenshot of it (zbarimg) as a phone's camera would.
    b.goto("/admin/accounts").await;
    b.find("#accounts").await;
    b.clean("23-accounts").await;
    b.fill("#new-username", "grid.kw01c").await;
    b.fill("#new-display-name", "孙丽").await;
    b.select("#new-role", "grid_worker").await;
    b.fill("#new-scope", KW_GRID).await;
    b.fill("#new-password", "gridwork-demo-新").await;
    b.click("#create-submit").await;
    b.until("the new account", || async { b.exists("#flash").await && b.text_now("#accounts").await.contains("grid.kw01c") })
        .await;
    b.goto("/admin/enrol?user=grid.kw01c").await;
    b.click("#enrol-make").await;
    b.until("the QR code", || async { b.exists("#enrol-code svg").await }).await;
    b.clean("24-enrol-qr").await;
    let qr_png = b.find("#enrol-code .qr").await.screenshot().await.expect("the QR's screenshot");
    let qr_file = dir.path().join("enrol-qr.png");
    std::fs::write(&qr_file, &qr_png).unwrap();
    let scanned = Command::new("zbarimg").args(["--raw", "-q"]).arg(&qr_file).output();
    let qr_text = match scanned {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        other => panic!("zbarimg (Debian: zbar-tools) could not read the console's QR code: {other:?}"),
    };
    assert!(qr_text.starts_with("gridwork://enrol?"), "{qr_text}");
    let enrolled = device(dir.path(), "enrolled", &server.url);
    let who = enrolled.enrol(&qr_text).await.expect("the phone enrols by the QR code");
    assert_eq!(who.username, "grid.kw01c");
    let filed = enrolled.create(report(&enrolled, KW_GRID, &format!("{tag} 扫码登录后上报"))).unwrap();
    enrolled.sync().await.unwrap();
    b.goto(&format!("/admin/records/{}", filed.id)).await;
    assert!(b.text("main").await.contains("孙丽"), "the enrolled phone's report is the new account's");
    assert!(enrolled.enrol(&qr_text).await.is_err(), "a code is used once");

    // The bulletin (通报) of the demo district, printable, with its PDF.
    b.goto("/admin/bulletin?period=month&district=370705").await;
    b.until("the bulletin", || async { b.exists("#bulletin-title").await }).await;
    assert!(b.text("#bulletin-title").await.contains("奎文区"));
    assert!(b.find("#bulletin-pdf").await.attr("href").await.unwrap().unwrap().starts_with("/admin/bulletin.pdf?"));
    b.clean("25-bulletin").await;

    // Moderation: the phone's photo is public only once reviewed.
    let sha = match &rubbish.body {
        RecordBody::Report(r) => r.photos[0].sha256.clone(),
        _ => unreachable!(),
    };
    let open311 = format!("{}/open311/v2/requests/{}.json", server.url, rubbish.id);
    let before: Value = reqwest::get(&open311).await.unwrap().json().await.unwrap();
    assert!(before[0].get("media_url").is_none_or(Value::is_null), "{before}");
    b.goto(&format!("/admin/records/{}", rubbish.id)).await;
    assert!(b.text(&format!("#public-{sha}")).await.contains("未公开"));
    b.click(&format!("#publish-{sha}")).await;
    b.until("the approval", || async { b.text_now(&format!("#public-{sha}")).await.contains("已公开") }).await;
    b.clean("26-photo-approved").await;
    let after: Value = reqwest::get(&open311).await.unwrap().json().await.unwrap();
    let media = after[0]["media_url"].as_str().expect("a media_url once approved").to_owned();
    let public = reqwest::get(&media).await.unwrap();
    assert_eq!(public.status(), 200, "{media}");

    // The table follows the map's view, and its downloads carry the filter.
    b.goto("/admin/map?kind=report").await;
    b.until("the map's points", || async { b.exists("#map[data-loaded]").await }).await;
    b.click("#to-table-view").await;
    b.until("the table of the map's view", || async { b.path().await.contains("bbox=") }).await;
    b.find("#bbox-chip").await;
    let csv = b.find("#dl-csv").await.attr("href").await.unwrap().unwrap();
    assert!(csv.starts_with("/admin/records.csv?") && csv.contains("bbox=") && csv.contains("kind=report"), "{csv}");
    b.clean("27-table-of-the-map-view").await;

    // A form posted from another origin: refused, nothing revealed.
    let evil = evil_site(format!("{}/admin/records/{notice_id}/reveal", server.url)).await;
    b.c.goto(&evil).await.unwrap();
    b.until("the refusal", || async { b.exists("#error-code").await }).await;
    assert_eq!(b.text("#error-code").await, "cross_origin");
    b.shot("17-cross-origin-refused").await;
    b.drain_log().await; // the 403 of that answer
    b.goto(&format!("/admin/audit?target={notice_id}")).await;
    let reveals = b.text("#audit").await.matches("reveal").count();
    assert_eq!(reveals, 1, "only the admin's own reveal");

    // A read-only officer: no action buttons; a forged form with their own token is 403.
    b.sign_out().await;
    b.sign_in("officer.kuiwen").await;
    b.goto(&format!("/admin/records/{case_id}")).await;
    assert!(b.text("header .role").await.contains("只读"));
    for css in ["#actions", "form[action$='/step']", "#open-form", "#reply-form"] {
        assert!(!b.exists(css).await, "{css} shown to a read-only officer");
    }
    b.clean("18-officer-case").await;
    b.goto(&notice_path).await;
    assert!(!b.exists("#reveal-party_phone").await);
    assert!(b.text("#personal-party_phone").await.contains("****"));
    b.goto("/admin/records").await;
    assert!(!b.exists("#bulk").await && !b.exists("input.pick").await);
    b.clean("19-officer-records").await;
    let forged = format!(
        "var f=document.createElement('form');f.method='post';f.action='/admin/records/{notice_id}/reveal';\
         [['_csrf',document.querySelector('input[name=_csrf]').value],['field','party_phone']].forEach(function(p){{\
         var i=document.createElement('input');i.type='hidden';i.name=p[0];i.value=p[1];f.appendChild(i);}});\
         document.body.appendChild(f);f.submit();"
    );
    b.c.execute(&forged, vec![]).await.unwrap();
    b.until("the refusal", || async { b.exists("#error-code").await }).await;
    assert_eq!(b.text("#error-code").await, "forbidden");
    assert!(b.text("main").await.contains("HTTP 403"));
    assert!(!b.text("main").await.contains(&phone));
    b.shot("20-officer-forged-403").await;
    b.drain_log().await;
    b.goto("/admin/queue").await;
    b.sign_out().await;
    // Signed out: the console is closed again.
    b.goto(&format!("/admin/records/{case_id}")).await;
    b.wait_path("/admin/login").await;
    b.clean("21-signed-out").await;
    // A bookmark opened while signed out: back to it after signing in.
    b.fill("#username", "admin").await;
    b.fill("#password", PASSWORD).await;
    b.find("#password").await.send_keys("\u{E007}").await.unwrap(); // Enter
    b.wait_path(&format!("/admin/records/{case_id}")).await;
    assert_eq!(b.text("#record-number").await, case_number);
    b.clean("22-back-to-the-bookmark").await;

    b.c.clone().close().await.unwrap();
    drop(driver);
    eprintln!("screenshots in {}", b.shots.display());
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for byte in s.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
