//! The server on a real socket: login, push, pull; restart on the same data; pull again.

use gridwork_core::fixtures;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::Role;
use gridwork_core::protocol::DEVICE_HEADER;
use gridwork_core::protocol::{LoginRequest, LoginResponse, Outcome, PullResponse, PushRequest, PushResponse, paths};
use gridwork_server::service::accounts::NewUser;
use gridwork_server::{ServerConfig, start};
use uuid::Uuid;

async fn login(client: &reqwest::Client, base: &str, device: Uuid) -> String {
    let resp = client
        .post(format!("{base}{}", paths::LOGIN))
        .json(&LoginRequest {
            username: "grid.kw01".into(),
            password: "网格员的密码123".into(),
            device_id: device,
            device_name: None,
            device_key: None,
        })
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    resp.json::<LoginResponse>().await.expect("login body").token
}

async fn pull(client: &reqwest::Client, base: &str, token: &str, device: Uuid) -> PullResponse {
    let resp = client
        .get(format!("{base}{}?since=0", paths::PULL))
        .bearer_auth(token)
        .header(DEVICE_HEADER, device.to_string())
        .send()
        .await
        .expect("pull");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("pull body")
}

/// The one account these tests sign in with.
async fn add_grid_worker(data: &std::path::Path) {
    let new = NewUser {
        username: "grid.kw01".into(),
        display_name: "孙丽娜".into(),
        role: Role::GridWorker,
        scope: fixtures::GRID.into(),
        password: "网格员的密码123".into(),
    };
    gridwork_server::testing::add_users(data, vec![new]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_push_pull_restart_pull() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_grid_worker(dir.path()).await;
    let config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
    let server = start(config.clone()).await.expect("start");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let device = Uuid::now_v7();
    let token = login(&client, &base, device).await;

    let ops: Vec<_> = fixtures::records()
        .into_iter()
        .filter(|r| r.kind() != gridwork_core::model::RecordKind::Notice)
        .map(|r| fixtures::create_op(r, Hlc::new(1_700_000_000_000, 0, "dev1")))
        .collect();
    let resp = client
        .post(format!("{base}{}", paths::PUSH))
        .bearer_auth(&token)
        .header(DEVICE_HEADER, device.to_string())
        .json(&PushRequest { ops, sigs: vec![] })
        .send()
        .await
        .expect("push");
    assert_eq!(resp.status(), 200);
    let pushed: PushResponse = resp.json().await.expect("push body");
    assert!(pushed.results.iter().all(|r| r.outcome == Outcome::Accepted), "{pushed:?}");
    let before = pull(&client, &base, &token, device).await;
    assert_eq!(before.records.len(), 2);
    server.shutdown().await;

    let server = start(config).await.expect("restart");
    let base = format!("http://{}", server.addr);
    // The session survived the restart too.
    let after = pull(&client, &base, &token, device).await;
    assert_eq!(after.records, before.records);
    assert_eq!(after.reference_version, before.reference_version);
    server.shutdown().await;
}

/// Wrong passwords from one client address, spread over many usernames (each under its
/// own limit), back off that address too: a typed 429 with `Retry-After`, even for a right
/// password; the connection's address is what counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_over_many_usernames_backs_off() {
    use gridwork_server::service::accounts::FREE_ADDRESS_FAILURES;
    let dir = tempfile::tempdir().expect("tempdir");
    add_grid_worker(dir.path()).await;
    let server = start(ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"))).await.expect("start");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let attempt = |username: String, password: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let body = LoginRequest {
                username,
                password: password.into(),
                device_id: Uuid::now_v7(),
                device_name: None,
                device_key: None,
            };
            client.post(format!("{base}{}", paths::LOGIN)).json(&body).send().await.expect("login")
        }
    };
    for i in 0..FREE_ADDRESS_FAILURES {
        // Never more than a few per username: the per-account limit is not what stops them.
        let r = attempt(format!("guess.{}", i / 3), "wrong").await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = attempt("guess.new".into(), "wrong").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let right = attempt("grid.kw01".into(), "网格员的密码123").await;
    assert_eq!(right.status(), 429, "the address waits, whatever it sends");
    server.shutdown().await;
}
