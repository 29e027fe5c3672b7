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
