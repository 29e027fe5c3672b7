//! Behind a reverse proxy, on a real socket: with the proxy trusted (`--trusted-proxy`),
//! each forwarded client address backs off on its own; without it, a forwarded header is
//! ignored, so sending a new one with each guess does not escape the peer's back-off.

use gridwork_core::model::Role;
use gridwork_core::protocol::paths;
use gridwork_server::http::forwarded::ProxyNet;
use gridwork_server::service::accounts::{FREE_ADDRESS_FAILURES, NewUser};
use gridwork_server::{ServerConfig, start};
use uuid::Uuid;

const PASSWORD: &str = "网格员的密码123";

async fn add_grid_worker(dir: &std::path::Path) {
    let user = NewUser {
        username: "grid.kw01".into(),
        display_name: "孙丽娜".into(),
        role: Role::GridWorker,
        scope: gridwork_core::fixtures::GRID.into(),
        password: PASSWORD.into(),
    };
    gridwork_server::testing::add_users(dir, vec![user]).await;
}

/// A sign-in through "the proxy" (this test, on loopback) for the client `forwarded_for`.
async fn attempt(client: &reqwest::Client, base: &str, username: &str, password: &str, forwarded_for: &str) -> u16 {
    let body = serde_json::json!({ "username": username, "password": password, "device_id": Uuid::now_v7() });
    let r = client
        .post(format!("{base}{}", paths::LOGIN))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .expect("login");
    r.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxys_clients_back_off_each_on_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_grid_worker(dir.path()).await;
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
    config.trusted_proxies = vec!["127.0.0.0/8".parse::<ProxyNet>().expect("net")];
    let server = start(config).await.expect("start");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    for i in 0..FREE_ADDRESS_FAILURES {
        let status = attempt(&client, &base, &format!("guess.{}", i / 3), "wrong", "203.0.113.7").await;
        assert_eq!(status, 401, "attempt {i}");
    }
    assert_eq!(attempt(&client, &base, "guess.new", "wrong", "203.0.113.7").await, 429, "that client waits");
    assert_eq!(attempt(&client, &base, "grid.kw01", PASSWORD, "203.0.113.7").await, 429, "even with the right password");
    // What that client writes on the left of the chain does not make it someone else.
    assert_eq!(attempt(&client, &base, "grid.kw01", PASSWORD, "198.51.100.1, 203.0.113.7").await, 429);
    // Another client behind the same proxy is not held back.
    assert_eq!(attempt(&client, &base, "grid.kw01", PASSWORD, "203.0.113.8").await, 200);
    assert_eq!(attempt(&client, &base, "grid.kw01", PASSWORD, "2001:db8::8").await, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trusted_proxy_a_forwarded_header_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_grid_worker(dir.path()).await;
    let server = start(ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"))).await.expect("start");
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    for i in 0..FREE_ADDRESS_FAILURES {
        // A new "address" with every guess.
        let status = attempt(&client, &base, &format!("guess.{}", i / 3), "wrong", &format!("203.0.113.{i}")).await;
        assert_eq!(status, 401, "attempt {i}");
    }
    assert_eq!(attempt(&client, &base, "grid.kw01", PASSWORD, "198.51.100.200").await, 429, "the peer's back-off holds");
    server.shutdown().await;
}

/// `X-Forwarded-Proto: https` makes the console set `Secure` cookies (and name itself
/// https): believed from a trusted proxy only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_proto_is_believed_only_from_a_trusted_proxy() {
    let cookie_of = |r: &reqwest::Response| {
        r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("\n")
    };
    for (trusted, secure) in [(false, false), (true, true)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
        if trusted {
            config.trusted_proxies = vec!["127.0.0.1".parse::<ProxyNet>().expect("net")];
        }
        let server = start(config).await.expect("start");
        let r = reqwest::Client::new()
            .get(format!("http://{}/admin/login", server.addr))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .expect("login page");
        assert_eq!(r.status(), 200);
        let cookies = cookie_of(&r);
        assert!(!cookies.is_empty(), "the sign-in form's cookie");
        assert_eq!(cookies.contains("Secure"), secure, "trusted {trusted}: {cookies}");
        server.shutdown().await;
    }
}
