//! Load generator: thousands of simulated phones against a real `gridwork-server` process on
//! loopback, speaking the real protocol (login, push, pull, photo upload) with think time
//! between syncs, as phones in the field do. Run:
//!
//! ```sh
//! cargo bench -p gridwork-e2e --bench load -- [--backend sqlite|postgres|both]
//!     [--devices 300,1000,3000] [--seconds 120] [--think-secs 30] [--history 200] [--growth]
//! ```
//!
//! Each run: accounts for the devices (about five phones per grid worker account, one
//! account per grid), each device's history of records pushed beforehand, then the measured
//! phase: every device signs in (argon2: measured apart), and until the time is up, waits
//! (exponential think time), pushes its next few of 20 new reports (every tenth with a
//! photo, uploaded after the push) and pulls what changed. It prints per-call p50/p95/p99,
//! throughput, errors, and the server's CPU and peak memory (PostgreSQL's own processes
//! apart). `--growth`: a fresh phone of one grid pulls that grid (500 records) from a server
//! holding 10,000 records and then 1,000,000: the two medians and their ratio.
//!
//! The load generator shares the machine's two cores with the server (and PostgreSQL):
//! figures are for the whole box, not the server alone.

use chrono::Utc;
use gridwork_core::hlc::Hlc;
use gridwork_core::model::{OrgRef, PhotoRef, Record, RecordBody, Report, Role, Status};
use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::protocol::{LoginRequest, LoginResponse, Op, PullResponse, PushRequest, PushResponse};
use gridwork_core::reference::OrgLevel;
use gridwork_e2e::faults::Rng;
use gridwork_e2e::*;
use gridwork_server::storage::User;
use sha2::Digest;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

const NEW_RECORDS: usize = 20;
const PER_PUSH: usize = 5;
const PHOTOS: usize = 32;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Args {
    backends: Vec<Backend>,
    devices: Vec<usize>,
    seconds: u64,
    think_secs: f64,
    history: usize,
    growth: bool,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        devices: vec![300, 1000, 3000],
        seconds: 120,
        think_secs: 30.0,
        history: 200,
        growth: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--backend" => {
                a.backends = match value().as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => panic!("--backend {other}: sqlite, postgres or both"),
                }
            }
            "--devices" => a.devices = value().split(',').map(|n| n.trim().parse().expect("--devices N,N,…")).collect(),
            "--seconds" => a.seconds = value().parse().expect("--seconds N"),
            "--think-secs" => a.think_secs = value().parse().expect("--think-secs X"),
            "--history" => a.history = value().parse().expect("--history N"),
            "--growth" => a.growth = true,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Per-call latencies and errors of one kind of call.
#[derive(Default)]
struct Calls {
    times: std::sync::Mutex<Vec<Duration>>,
    errors: AtomicU64,
}

impl Calls {
    fn ok(&self, d: Duration) {
        self.times.lock().unwrap().push(d);
    }
    fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    fn line(&self, name: &str, wall: Duration) -> String {
        let mut t = self.times.lock().unwrap().clone();
        t.sort();
        let q = |p: f64| t.get(((t.len() as f64 * p) as usize).min(t.len().saturating_sub(1))).copied().unwrap_or_default();
        format!(
            "  {name:<8} {:>7} calls {:>7.1}/s  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  errors {}",
            t.len(),
            t.len() as f64 / wall.as_secs_f64(),
            ms(q(0.50)),
            ms(q(0.95)),
            ms(q(0.99)),
            self.errors.load(Ordering::Relaxed)
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A simulated phone: its session, cursor and clock.
struct Phone {
    id: Uuid,
    node: String,
    user: String,
    grid: (String, String),
    token: String,
    since: u64,
    epoch: Option<u64>,
    counter: u32,
}

impl Phone {
    fn new(user: &str, community: &str, grid: &str) -> Phone {
        let id = Uuid::now_v7();
        Phone {
            id,
            node: id.simple().to_string(),
            user: user.into(),
            grid: (community.into(), grid.into()),
            token: String::new(),
            since: 0,
            epoch: None,
            counter: 0,
        }
    }

    fn hlc(&mut self) -> Hlc {
        self.counter += 1;
        Hlc::new(gridwork_core::hlc::wall_now_ms(), self.counter, self.node.clone())
    }

    fn report_op(&mut self, i: usize, photo: Option<PhotoRef>) -> Op {
        let now = Utc::now();
        let (lat, lon) = gridwork_server::bootstrap::grid_position(&self.grid.1).unwrap_or((36.7069, 119.1617));
        let record = Record {
            id: Uuid::now_v7(),
            author: String::new(),
            device: String::new(),
            org: OrgRef { community: self.grid.0.clone(), grid: self.grid.1.clone() },
            created_at: now,
            updated_at: now,
            updated_by: String::new(),
            location: gridwork_core::model::Location {
                lat: lat + (i % 50) as f64 * 1e-5,
                lon: lon - (i % 47) as f64 * 1e-5,
                accuracy_m: 8.0,
                address: Some(format!("潍坊市奎文区胜利东街{}号", 1 + i % 300)),
            },
            status: Status::Submitted,
            body: RecordBody::Report(Report {
                category: ["09006", "06036", "01001", "04011"][i % 4].into(),
                description: format!("占道经营，摊位约{}平方米，影响行人通行（第{i}条）", 2 + i % 9),
                photos: photo.into_iter().collect(),
                duplicate_of: None,
            }),
            seq: None,
        };
        let hlc = self.hlc();
        gridwork_core::fixtures::create_op(record, hlc)
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(&self.token).header(gridwork_core::protocol::DEVICE_HEADER, self.id.to_string())
    }

    async fn login(&mut self, http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
        let body = LoginRequest {
            username: self.user.clone(),
            password: PASSWORD.into(),
            device_id: self.id,
            device_name: Some("load".into()),
            device_key: None,
        };
        let res = http.post(format!("{url}/v1/auth/login")).json(&body).send().await?.error_for_status()?;
        self.token = res.json::<LoginResponse>().await?.token;
        Ok(())
    }

    async fn push(&mut self, http: &reqwest::Client, url: &str, ops: Vec<Op>) -> anyhow::Result<u64> {
        let res = self
            .auth(http.post(format!("{url}/v1/sync/push")))
            .json(&PushRequest { ops, sigs: vec![] })
            .send()
            .await?
            .error_for_status()?;
        let answer: PushResponse = res.json().await?;
        let rejected = answer.results.iter().filter(|r| r.outcome == gridwork_core::protocol::Outcome::Rejected).count();
        anyhow::ensure!(rejected == 0, "{rejected} ops rejected: {:?}", answer.results.first());
        Ok(answer.results.iter().filter_map(|r| r.seq).max().unwrap_or(0))
    }

    /// One pull page from the cursor; how many records it held and whether more wait.
    async fn pull(&mut self, http: &reqwest::Client, url: &str) -> anyhow::Result<(usize, bool)> {
        let mut q = format!("{url}/v1/sync/pull?since={}&limit=2000", self.since);
        if let Some(e) = self.epoch {
            q.push_str(&format!("&epoch={e}"));
        }
        let res = self.auth(http.get(q)).send().await?.error_for_status()?;
        let page: PullResponse = res.json().await?;
        self.since = page.next;
        self.epoch = page.epoch;
        Ok((page.records.len(), page.has_more))
    }

    async fn upload(&self, http: &reqwest::Client, url: &str, photo: &Photo) -> anyhow::Result<()> {
        let start = serde_json::json!({"sha256": photo.sha256, "size": photo.bytes.len()});
        let status: serde_json::Value = self
            .auth(http.post(format!("{url}/v1/photos/uploads")))
            .json(&start)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if status["complete"] == true {
            return Ok(());
        }
        let offset = status["offset"].as_u64().unwrap_or(0) as usize;
        let done: serde_json::Value = self
            .auth(http.patch(format!("{url}/v1/photos/uploads/{}", photo.sha256)))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(photo.bytes[offset..].to_vec())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::ensure!(done["complete"] == true, "upload not complete: {done}");
        Ok(())
    }
}

struct Photo {
    sha256: String,
    bytes: Vec<u8>,
    reference: PhotoRef,
}

fn photos() -> Vec<Photo> {
    (0..PHOTOS)
        .map(|i| {
            let bytes = sample_jpeg(1280, 960, 85, 1000 + i as u32, None);
            let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
            let reference = PhotoRef {
                sha256: sha256.clone(),
                mime: "image/jpeg".into(),
                bytes: bytes.len() as u64,
                width: 1280,
                height: 960,
                taken_at: None,
                lat: None,
                lon: None,
                stage: None,
            };
            Photo { sha256, bytes, reference }
        })
        .collect()
}

/// CPU seconds used so far by the process `pid` (user + system).
fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of `pid` in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds of every `postgres` process on the machine.
fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(cpu_secs)
        .sum()
}

/// A server on `backend` with `accounts` grid workers (one per grid), and those accounts'
/// (username, community, grid).
async fn server_with_accounts(
    dir: &std::path::Path,
    backend: Backend,
    accounts: usize,
) -> (Server, Vec<(String, String, String)>) {
    let data = dir.join("server");
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(gridwork_server::storage::postgres::testing::cluster().fresh_database().await),
    };
    // The demo city is seeded at the first start; the accounts are added with the server
    // stopped (straight into the store: one argon2 hash for all, the same password).
    let mut server = Server::start_on(&data, database.clone());
    server.stop();
    let db = gridwork_server::config::Database::choose(&data, database.clone()).unwrap();
    let stores = gridwork_server::open_database(&db).await.unwrap();
    let hash = gridwork_server::service::accounts::Passwords::production().unwrap().hash(PASSWORD).unwrap();
    let orgs = gridwork_server::bootstrap::orgs();
    let grids: Vec<(String, String)> = orgs
        .iter()
        .filter(|o| o.level == OrgLevel::Grid)
        .map(|o| (o.parent.clone().unwrap_or_default(), o.code.clone()))
        .collect();
    let mut users = Vec::new();
    for i in 0..accounts {
        let (community, grid) = grids[i % grids.len()].clone();
        let username = format!("load.{i:05}");
        stores
            .accounts
            .insert_user(User {
                id: Uuid::now_v7().to_string(),
                username: username.clone(),
                display_name: format!("压测{i}"),
                role: Role::GridWorker,
                scope: grid.clone(),
                password_hash: hash.clone(),
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        users.push((username, community, grid));
    }
    stores.close().await.unwrap();
    server.restart();
    (server, users)
}

/// Push `per_phone` records for each phone, a few phones at a time; the highest seq.
async fn preload(http: &reqwest::Client, url: &str, phones: &mut [Phone], per_phone: usize) -> u64 {
    let mut high = 0;
    for chunk in phones.chunks_mut(8) {
        let pushes = chunk.iter_mut().map(|p| async move {
            let mut high = 0;
            let mut left = per_phone;
            while left > 0 {
                let n = left.min(500);
                let ops = (0..n).map(|i| p.report_op(i, None)).collect();
                high = high.max(p.push(http, url, ops).await.expect("preload push"));
                left -= n;
            }
            high
        });
        high = high.max(futures::future::join_all(pushes).await.into_iter().max().unwrap_or(0));
    }
    high
}

async fn run(backend: Backend, devices: usize, a: &Args, photos: Arc<Vec<Photo>>) {
    let dir = tempfile::tempdir().unwrap();
    let accounts = devices.div_ceil(5);
    let (server, users) = server_with_accounts(dir.path(), backend, accounts).await;
    let url = server.url.clone();
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut phones: Vec<Phone> = (0..devices)
        .map(|i| Phone::new(&users[i % users.len()].0, &users[i % users.len()].1, &users[i % users.len()].2))
        .collect();

    // Sign-in (argon2 on purpose: measured on its own) and the history.
    let login = Arc::new(Calls::default());
    let started = Instant::now();
    for chunk in phones.chunks_mut(16) {
        futures::future::join_all(chunk.iter_mut().map(|p| {
            let (http, url, login) = (&http, &url, login.clone());
            async move {
                let t = Instant::now();
                match p.login(http, url).await {
                    Ok(()) => login.ok(t.elapsed()),
                    Err(e) => panic!("login: {e}"),
                }
            }
        }))
        .await;
    }
    let login_wall = started.elapsed();
    let t = Instant::now();
    let high = preload(&http, &url, &mut phones, a.history).await;
    let preload_wall = t.elapsed();
    for p in &mut phones {
        // The history is on every phone already: it pulls only what comes after.
        p.since = high;
    }

    let (push, pull, upload) = (Arc::new(Calls::default()), Arc::new(Calls::default()), Arc::new(Calls::default()));
    let pid = server.pid().expect("server pid");
    // The peak memory of the measured phase, not of the sign-in burst (argon2 takes 19 MiB
    // a hash): "5" resets the process's high-water mark.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let (cpu0, pg0) = (cpu_secs(pid), postgres_cpu_secs());
    let phase = Duration::from_secs(a.seconds);
    let start = Instant::now();
    let pushed = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = phones
        .into_iter()
        .enumerate()
        .map(|(n, mut p)| {
            let (http, url, photos) = (http.clone(), url.clone(), photos.clone());
            let (push, pull, upload, pushed) = (push.clone(), pull.clone(), upload.clone(), pushed.clone());
            let think = a.think_secs;
            tokio::spawn(async move {
                let mut rng = Rng::new(n as u64 + 1);
                let mut made = 0;
                loop {
                    // Exponential think time; the first wait spreads the phones out.
                    let u = (rng.below(1_000_000) as f64 + 1.0) / 1_000_001.0;
                    let wait = Duration::from_secs_f64(-u.ln() * think);
                    if start.elapsed() + wait >= phase {
                        break;
                    }
                    tokio::time::sleep(wait).await;
                    if made < NEW_RECORDS {
                        let with_photo = rng.chance(10).then(|| rng.pick(&photos[..]));
                        let mut ops = Vec::new();
                        for i in 0..PER_PUSH.min(NEW_RECORDS - made) {
                            let photo = if i == 0 { with_photo.map(|ph| ph.reference.clone()) } else { None };
                            ops.push(p.report_op(made + i, photo));
                        }
                        let t = Instant::now();
                        match p.push(&http, &url, ops).await {
                            Ok(_) => {
                                push.ok(t.elapsed());
                                made += PER_PUSH;
                                pushed.fetch_add(PER_PUSH as u64, Ordering::Relaxed);
                            }
                            Err(e) => {
                                eprintln!("push: {e}");
                                push.failed()
                            }
                        }
                        if let Some(photo) = with_photo {
                            let t = Instant::now();
                            match p.upload(&http, &url, photo).await {
                                Ok(()) => upload.ok(t.elapsed()),
                                Err(e) => {
                                    eprintln!("upload: {e}");
                                    upload.failed()
                                }
                            }
                        }
                    }
                    loop {
                        let t = Instant::now();
                        match p.pull(&http, &url).await {
                            Ok((_, more)) => {
                                pull.ok(t.elapsed());
                                if !more {
                                    break;
                                }
                            }
                            Err(e) => {
                                eprintln!("pull: {e}");
                                pull.failed();
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let wall = start.elapsed();
    let cpu = cpu_secs(pid) - cpu0;
    let pg = postgres_cpu_secs() - pg0;
    println!(
        "{backend:?}, {devices} devices ({accounts} accounts), think {:.0} s, {} s: {} records of history ({:.1} s to load), {} new records pushed",
        a.think_secs,
        a.seconds,
        devices * a.history,
        preload_wall.as_secs_f64(),
        pushed.load(Ordering::Relaxed)
    );
    println!("{}", login.line("login", login_wall));
    println!("{}", push.line("push", wall));
    println!("{}", pull.line("pull", wall));
    println!("{}", upload.line("photo", wall));
    let pg_note = if backend == Backend::Postgres {
        format!(", PostgreSQL {:.0}% of a core", 100.0 * pg / wall.as_secs_f64())
    } else {
        String::new()
    };
    println!(
        "  server: {:.0}% of a core, peak memory {:.0} MiB in the phase{pg_note}",
        100.0 * cpu / wall.as_secs_f64(),
        peak_mib(pid)
    );
}

/// A fresh phone of one grid pulls it all; the median time over `rounds`.
async fn fresh_pull(http: &reqwest::Client, url: &str, user: &(String, String, String), rounds: usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut records = 0;
    for _ in 0..rounds {
        let mut p = Phone::new(&user.0, &user.1, &user.2);
        p.login(http, url).await.unwrap();
        let t = Instant::now();
        records = 0;
        loop {
            let (n, more) = p.pull(http, url).await.unwrap();
            records += n;
            if !more {
                break;
            }
        }
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], records)
}

async fn growth(backend: Backend) {
    const GRID_RECORDS: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let (server, users) = server_with_accounts(dir.path(), backend, 200).await;
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let mut loaders: Vec<Phone> = users.iter().map(|u| Phone::new(&u.0, &u.1, &u.2)).collect();
    for p in &mut loaders {
        p.login(&http, &url).await.unwrap();
    }
    // The watched grid's records, then the rest of the city's until the server holds
    // `total` records.
    preload(&http, &url, &mut loaders[..1], GRID_RECORDS).await;
    let mut held = GRID_RECORDS;
    let mut figures = Vec::new();
    let mut grid_count = None;
    for total in [10_000usize, 1_000_000] {
        let others = &mut loaders[1..];
        let per = (total - held).div_ceil(others.len());
        let t = Instant::now();
        preload(&http, &url, others, per).await;
        held += per * others.len();
        let loaded = t.elapsed();
        let (median, n) = fresh_pull(&http, &url, &users[0], 5).await;
        // The grid's records (the demo city's few there, and these), all of them once.
        let expected = *grid_count.get_or_insert(n);
        assert!(n >= GRID_RECORDS && n == expected, "the grid's records: {n}, expected {expected}");
        println!(
            "{backend:?} growth: server holds {held} records (loaded in {:.0} s); a fresh phone pulls its grid's {n} in {:.1} ms (median of 5)",
            loaded.as_secs_f64(),
            ms(median)
        );
        figures.push(median);
    }
    println!(
        "{backend:?} growth: 1M / 10k fresh-grid pull = {:.2}x (aim: at most 1.2x)",
        figures[1].as_secs_f64() / figures[0].as_secs_f64()
    );
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let photos = Arc::new(photos());
        for &backend in &a.backends {
            if a.growth {
                growth(backend).await;
                continue;
            }
            for &n in &a.devices {
                run(backend, n, &a, photos.clone()).await;
            }
        }
    });
}
