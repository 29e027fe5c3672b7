//! End-to-end: provisioning a phone by QR code (扫码登录) against a real gridwork-server
//! process. The code is made on the server (`gridwork-server enrol-code`, as an operator
//! would, while the server runs); a device core enrols with the QR text, syncs a record
//! another device of the account then sees, and the code never works twice.

use gridwork_core::Error;
use gridwork_core::session::EnrolLinkError;
use gridwork_e2e::*;

/// A new enrolment code for `user`: the QR text the server prints.
fn enrol_code(server: &Server, user: &str) -> String {
    let out = server
        .command(&["enrol-code"])
        .args(["--user", user, "--server", &server.url])
        .env("GRIDWORK_LOG", "warn")
        .output()
        .expect("run gridwork-server enrol-code");
    assert!(out.status.success(), "enrol-code: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert!(text.starts_with("gridwork://enrol?server="), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrols_by_qr_code_syncs_and_the_code_is_used_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let qr = enrol_code(&server, "grid.kw01");

    // A fresh phone scans it: signed in as the account, with reference data, like a login.
    let phone = device(dir.path(), "phone", &server.url);
    assert!(phone.current_user().is_none());
    let user = phone.enrol(&qr).await.expect("enrol");
    assert_eq!(user.username, "grid.kw01");
    assert_eq!(phone.current_user().map(|u| u.username).as_deref(), Some("grid.kw01"));
    assert!(phone.reference().unwrap().is_some(), "the reference data came with the sign-in");

    // It syncs as usual; another device of the account sees the record.
    let made = phone.create(report(&phone, KW_GRID, "扫码登录后上报：井盖缺失")).unwrap();
    let rep = phone.sync().await.expect("sync");
    assert_eq!((rep.pushed, rep.accepted, rep.rejected), (1, 1, 0));
    let other = logged_in(dir.path(), "other", &server.url, "grid.kw01").await;
    other.sync().await.expect("sync");
    let seen = other.get(made.id).unwrap().expect("the enrolled phone's record reached the server");
    assert_eq!(seen.record.record.author, user.id);

    // The code is spent: neither another phone nor the same one can use it again.
    let thief = device(dir.path(), "thief", &server.url);
    assert!(matches!(thief.enrol(&qr).await, Err(Error::InvalidEnrolCode)), "a second use is refused");
    assert!(thief.current_user().is_none());
    assert!(matches!(phone.enrol(&qr).await, Err(Error::InvalidEnrolCode)));
    // The phone's own session is untouched by the refused attempt.
    phone.create(report(&phone, KW_GRID, "第二条")).unwrap();
    assert_eq!(phone.sync().await.expect("still signed in").accepted, 1);

    // A code for another server is refused on the device, before anything is sent.
    let fresh = enrol_code(&server, "grid.kw01");
    let elsewhere = device(dir.path(), "elsewhere", "https://gw.example.cn");
    assert!(matches!(elsewhere.enrol(&fresh).await, Err(Error::EnrolLink(EnrolLinkError::OtherServer))));
    assert!(matches!(
        elsewhere.enrol("https://gw.example.cn/public/stalls/KW-XLP-007").await,
        Err(Error::EnrolLink(EnrolLinkError::NotEnrolLink))
    ));
    // …and the code it carried still works where it belongs (as typed: grouped, lower case).
    let code = fresh.split("code=").nth(1).expect("code").to_owned();
    let typed: String =
        code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).to_lowercase()).collect::<Vec<_>>().join("-");
    let server_param = fresh.split("server=").nth(1).and_then(|s| s.split('&').next()).expect("server");
    let second = device(dir.path(), "second", &server.url);
    let user = second.enrol(&format!("gridwork://enrol?server={server_param}&code={typed}")).await.expect("typed code");
    assert_eq!(user.username, "grid.kw01");

    // An expired code is refused like a used one.
    let late = enrol_code(&server, "officer.kuiwen");
    server.set_clock_offset(11 * 60);
    let slow = device(dir.path(), "slow", &server.url);
    assert!(matches!(slow.enrol(&late).await, Err(Error::InvalidEnrolCode)), "expired after 10 minutes");
    server.set_clock_offset(0);
}
