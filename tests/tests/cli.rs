//! The device command line as a person uses it: a real `gridwork-device` process against a
//! real server. A long sync shows its progress (plain lines when stderr is not a terminal).

use gridwork_e2e::*;
use std::process::Command;

fn cli(db: &std::path::Path, url: &str) -> Command {
    let mut c = Command::new(device_bin());
    c.env("GRIDWORK_DB", db).env("GRIDWORK_SERVER", url).env_remove("GRIDWORK_DB_KEY");
    c
}

#[test]
fn a_sync_tells_its_progress_on_stderr_and_its_result_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let db = dir.path().join("kw01.db");
    let login = cli(&db, &server.url).args(["login", "grid.kw01"]).env("GRIDWORK_PASSWORD", PASSWORD).output().unwrap();
    assert!(login.status.success(), "{}", String::from_utf8_lossy(&login.stderr));
    for i in 0..3 {
        let out = cli(&db, &server.url)
            .args(["report", "--grid", KW_GRID, "--category", "09006", "--lat", "36.7069", "--lon", "119.1617"])
            .args(["--desc", &format!("早市占道经营 {i}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cli(&db, &server.url).arg("sync").output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("pushed 3 (accepted 3, rejected 0)"), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("推送 pushing") && l.ends_with("0/3")), "{stderr}");
    assert!(lines.iter().any(|l| l.starts_with("推送 pushing") && l.ends_with("3/3")), "{stderr}");
    assert!(lines.iter().any(|l| l.starts_with("拉取 pulling")), "{stderr}");
    assert!(lines.last().is_some_and(|l| l.starts_with("完成 done")), "{stderr}");
    assert!(!stderr.contains('\r'), "no terminal redraws in a pipe: {stderr:?}");
}

/// Run the device command line; its stdout, the command having succeeded.
fn run(db: &std::path::Path, url: &str, args: &[&str]) -> String {
    let out = cli(db, url).args(args).env("GRIDWORK_PASSWORD", PASSWORD).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn id_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_case_loop_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let url = server.url.clone();
    let (worker, admin, officer) = (dir.path().join("w.db"), dir.path().join("a.db"), dir.path().join("o.db"));
    run(&worker, &url, &["login", "grid.kw01"]);
    run(&admin, &url, &["login", "admin"]);
    run(&officer, &url, &["login", "officer.kuiwen"]);

    let report = id_of(&run(
        &worker,
        &url,
        &[
            "--json",
            "report",
            "--grid",
            KW_GRID,
            "--category",
            "06036",
            "--desc",
            "楼道堆放杂物",
            "--lat",
            "36.7069",
            "--lon",
            "119.1617",
        ],
    ));
    run(&worker, &url, &["sync"]);
    run(&admin, &url, &["sync"]);
    let case = id_of(&run(
        &admin,
        &url,
        &["--json", "case", "open", "--from", &report, "--category", "06036", "--desc", "楼道堆放杂物"],
    ));
    run(&admin, &url, &["case", "dispatch", &case, "--to-officer", "officer.kuiwen", "--note", "请今日处置"]);
    run(&admin, &url, &["sync"]);
    let shown = run(&admin, &url, &["case", "show", &case]);
    assert!(shown.contains("370705-") && shown.contains("处置中"), "numbered by the server, dispatched: {shown}");
    assert!(shown.contains("剩余"), "the working time left: {shown}");

    // The officer handles it offline (the server is not asked), with an after photo.
    run(&officer, &url, &["sync"]);
    let photo = dir.path().join("after.jpg");
    std::fs::write(&photo, gridwork_core::photos::sample::sample_jpeg(800, 600, 85, 3, None)).unwrap();
    let handled =
        run(&officer, "http://127.0.0.1:9", &["case", "handle", &case, "--note", "已清理", "--photo", photo.to_str().unwrap()]);
    assert!(handled.contains("待同步"), "{handled}");
    run(&officer, &url, &["sync"]);

    // The reporter checks on site, passes it; the admin answers them.
    run(&worker, &url, &["sync"]);
    run(&worker, &url, &["case", "verify", &case, "--pass"]);
    run(&worker, &url, &["sync"]);
    run(&admin, &url, &["sync"]);
    run(&admin, &url, &["case", "reply", &case, "--text", "您反映的楼道堆物已清理，感谢监督"]);
    run(&admin, &url, &["sync"]);
    run(&worker, &url, &["sync"]);
    let of = run(&worker, &url, &["case", "of", &report]);
    assert!(of.contains("已结案") || of.contains("结案"), "{of}");
    assert!(of.contains("答复 reply: 您反映的楼道堆物已清理，感谢监督"), "{of}");
    for action in ["register", "dispatch", "handle", "verify", "reply"] {
        assert!(of.contains(action), "{action} in the timeline: {of}");
    }

    // A wrong step is refused on the phone at once, with its reason, and nothing is queued.
    let out = cli(&officer, &url).args(["case", "dispatch", &case, "--to-officer", "officer.kuiwen"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("管理员") || err.contains("wrong_role") || err.contains("办结"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_verifies_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let _admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    let wrong = device(dir.path(), "w", &server.url);
    assert!(wrong.login("grid.kw01", "not-the-password").await.is_err());
    server.stop();
    let out = server.command(&["audit", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("审计记录完整"), "{stdout}");
    // The demo seed's accounts, the sign-in and the failed one are all in it.
    let n: u64 = stdout.split_whitespace().find_map(|w| w.parse().ok()).expect("a count");
    assert!(n >= 3, "{stdout}");
}
