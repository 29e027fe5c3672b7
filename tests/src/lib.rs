//! Harness of the end-to-end tests: a real `gridwork-server` process on a loopback port,
//! device cores each on their own SQLite file, and a TCP proxy that can cut connections.

pub mod faults;
pub mod in_process;
pub mod proxy;

use chrono::NaiveDate;
use gridwork_core::model::*;
use gridwork_core::{Device, DeviceConfig, Draft};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const PASSWORD: &str = "gridwork-demo";
/// 胜利东街社区 第1网格 (奎文区), grid.kw01's grid.
pub const KW_GRID: &str = "370705001001-01";
/// 胜利东街社区 第2网格: same community, another grid.
pub const KW_GRID_2: &str = "370705001001-02";
/// 十笏园社区 第1网格 (潍城区), grid.wc01's grid.
pub const WC_GRID: &str = "370702001001-01";

/// The server binary the tests run: `GRIDWORK_SERVER_BIN`, or the one the README's first
/// command builds (`cargo run --release -p gridwork-server`: that package alone, so its
/// features are the shipped ones, not the workspace's unified set), built here if needed.
pub fn server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("GRIDWORK_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "gridwork-server"])
            .current_dir(root)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building gridwork-server failed");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    target.join("release").join("gridwork-server")
}

/// The database the servers of this test run use: SQLite in their data directory (the
/// default), or PostgreSQL with `GRIDWORK_TEST_BACKEND=postgres` (a database per server
/// data directory in the test cluster, see `gridwork_server::storage::postgres::testing`).
pub fn on_postgres() -> bool {
    match std::env::var("GRIDWORK_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("GRIDWORK_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The PostgreSQL database that belongs with the server data directory `data` (made empty
/// the first time), when the tests run on PostgreSQL.
fn database_for(data: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let data = data.to_path_buf();
    // Its own runtime on its own thread: callers may be inside a runtime already.
    let url = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move { gridwork_server::storage::postgres::testing::cluster().database_for(&data).await })
    })
    .join()
    .expect("creating the test database");
    Some(url)
}

/// A test that is about the SQLite deployment itself (its file, its backup): true, after
/// saying so, when this run is on PostgreSQL and the test should return at once.
pub fn skipped_on_postgres(what: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {what} is about the SQLite deployment");
    }
    on_postgres()
}

/// The device command line next to the test binaries (target/<profile>/gridwork-device).
pub fn device_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe.parent().and_then(Path::parent).expect("target/<profile>").join("gridwork-device");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace --bins` first", bin.display());
    bin
}

/// The file in a server's data directory that holds its clock offset (seconds).
const CLOCK_OFFSET_FILE: &str = "clock-offset";

/// A running `gridwork-server demo` process.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub url: String,
    data: PathBuf,
    /// The PostgreSQL database, when the run is on PostgreSQL.
    database: Option<String>,
}

impl Server {
    /// Start a server with the demo city on a free loopback port, data in `data`.
    pub fn start(data: &Path) -> Server {
        Self::spawn(data, "127.0.0.1:0")
    }

    /// Start a server whose log (at `level`, e.g. `debug`) goes to the file `log`.
    pub fn start_logging(data: &Path, level: &str, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the server's log file");
        Self::spawn_with(data, "127.0.0.1:0", level, Stdio::from(file))
    }

    /// Start a server on SQLite in `data`, whichever backend the run is on.
    pub fn start_on_sqlite(data: &Path) -> Server {
        Self::start_on(data, None)
    }

    /// Start a server with local files in `data` and its database in PostgreSQL at
    /// `database` (None: SQLite in `data`), whichever backend the run is on.
    pub fn start_on(data: &Path, database: Option<String>) -> Server {
        Self::spawn_on(data, "127.0.0.1:0", "warn", Stdio::inherit(), database)
    }

    /// The server process's id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(data: &Path, addr: &str) -> Server {
        Self::spawn_with(data, addr, "warn", Stdio::inherit())
    }

    fn spawn_with(data: &Path, addr: &str, level: &str, stderr: Stdio) -> Server {
        Self::spawn_on(data, addr, level, stderr, database_for(data))
    }

    fn spawn_on(data: &Path, addr: &str, level: &str, stderr: Stdio, database: Option<String>) -> Server {
        Self::spawn_custom(data, "demo", addr, level, stderr, database, &[], &[])
    }

    /// Start `gridwork-server <sub>` (`serve`, or `demo` to seed the demo city first) with
    /// local files in `data`, its database at `database` (None: SQLite in `data`), and
    /// more arguments and environment (e.g. an S3 store that several servers share).
    pub fn start_custom(data: &Path, sub: &str, database: Option<String>, args: &[&str], envs: &[(&str, &str)]) -> Server {
        Self::spawn_custom(data, sub, "127.0.0.1:0", "warn", Stdio::inherit(), database, args, envs)
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_custom(
        data: &Path,
        sub: &str,
        addr: &str,
        level: &str,
        stderr: Stdio,
        database: Option<String>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        // The deadline job every second, on a clock tests can move (`set_clock_offset`).
        let mut child = Command::new(server_bin())
            .args([sub, "--data"])
            .arg(data)
            .args(["--addr", addr, "--deadline-interval-secs", "1", "--clock-offset-file"])
            .arg(data.join(CLOCK_OFFSET_FILE))
            .args(args)
            .env("GRIDWORK_DATABASE", database.as_deref().unwrap_or(""))
            .env("GRIDWORK_LOG", level)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start gridwork-server");
        let Some(url) = listening_url(&mut child) else {
            let _ = child.kill();
            panic!("gridwork-server did not report its address");
        };
        let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("listening address");
        Server { child: Some(child), addr, url, data: data.to_path_buf(), database }
    }

    /// Graceful stop (SIGTERM), waiting for the process to end.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(status.success(), "server exited with {status} after SIGTERM");
                    return;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("server did not stop within 30 s of SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kill the process without warning (SIGKILL), as a crash or power cut would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// A `gridwork-server` command on this server's data (`--data` and, on PostgreSQL, its
    /// database): `sub` are the subcommand's words, e.g. `["audit", "verify"]`.
    pub fn command(&self, sub: &[&str]) -> Command {
        let mut cmd = Command::new(server_bin());
        cmd.args(sub).arg("--data").arg(&self.data).env("GRIDWORK_DATABASE", self.database.as_deref().unwrap_or(""));
        cmd
    }

    /// Move the server's clock `secs` seconds from the machine's (it reads the change at once).
    pub fn set_clock_offset(&self, secs: i64) {
        std::fs::write(self.data.join(CLOCK_OFFSET_FILE), secs.to_string()).expect("write the clock offset");
    }

    /// Add an account with the demo password while the server runs (`gridwork-server user add`).
    pub fn add_user(&self, username: &str, display_name: &str, role: &str, scope: &str) {
        let out = self
            .command(&["user", "add"])
            .args(["--username", username, "--display-name", display_name, "--role", role, "--scope", scope])
            .env("GRIDWORK_PASSWORD", PASSWORD)
            .env("GRIDWORK_LOG", "warn")
            .output()
            .expect("run gridwork-server user add");
        assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Start again on the same data directory and the same port.
    pub fn restart(&mut self) {
        let database = self.database.clone();
        self.restart_on(database);
    }

    /// Start again on the same data directory and port, on this database (None: SQLite).
    pub fn restart_on(&mut self, database: Option<String>) {
        assert!(self.child.is_none(), "stop the server first");
        let again = Self::spawn_on(&self.data, &self.addr.to_string(), "warn", Stdio::inherit(), database);
        assert_eq!(again.addr, self.addr);
        *self = again;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The URL a `gridwork-server` started with piped stdout prints (`gridwork-server listening
/// on …`); its stdout is drained afterwards so the server never blocks on it. None if it
/// prints none within 120 s.
pub fn listening_url(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("gridwork-server listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120)).ok()
}

/// A device core with its own database file under `dir`.
pub fn device(dir: &Path, name: &str, url: &str) -> Device {
    Device::open(DeviceConfig {
        db_path: dir.join(format!("{name}.db")),
        server_url: url.to_owned(),
        db_key: None,
        allow_plain_http: false,
    })
    .expect("open device")
}

/// A device logged in as `user` (demo password).
pub async fn logged_in(dir: &Path, name: &str, url: &str, user: &str) -> Device {
    let d = device(dir, name, url);
    d.login(user, PASSWORD).await.expect("login");
    d
}

pub fn location() -> Location {
    Location { lat: 36.7069, lon: 119.1617, accuracy_m: 6.5, address: Some("潍坊市奎文区胜利东街".into()) }
}

pub fn report(device: &Device, grid: &str, description: &str) -> Draft {
    Draft {
        org: device.org_for_grid(grid).expect("grid"),
        location: location(),
        body: RecordBody::Report(Report {
            category: "09006".into(),
            description: description.into(),
            photos: vec![],
            duplicate_of: None,
        }),
    }
}

pub fn notice(device: &Device, grid: &str) -> Draft {
    Draft {
        org: device.org_for_grid(grid).expect("grid"),
        location: location(),
        body: RecordBody::Notice(Notice {
            // Empty: the device takes the next number of its blocks with the notice.
            number: String::new(),
            category: "QL-STALL".into(),
            party: Party::new("张某", Some("老张水果店".into()), Some("13805361234".into())),
            facts: "店外占用人行道摆放水果".into(),
            legal_basis: "《潍坊市城市市容和环境卫生管理办法》第十六条".into(),
            deadline: chrono::Utc::now().date_naive() + chrono::Days::new(3),
            photos: vec![],
            stall: None,
        }),
    }
}

pub fn service_log(device: &Device, grid: &str) -> Draft {
    Draft {
        org: device.org_for_grid(grid).expect("grid"),
        location: location(),
        body: RecordBody::ServiceLog(ServiceLog {
            date: chrono::Utc::now().date_naive(),
            activity: Activity::HomeVisit,
            participants: 5,
            summary: "走访沿街商户，宣传门前五包".into(),
            complaints: vec!["夜间烧烤油烟扰民".into()],
            replies: vec!["已告知中队，三日内现场查看".into()],
            linked_reports: vec![],
            photos: vec![],
            stall: None,
        }),
    }
}

/// A fixed date, for bodies that need one.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// Give `device` (signed in as an officer) `count` more notice numbers, in blocks of 1,000
/// taken from the server as its sync would: for benchmarks that issue thousands of notices
/// offline (a sync takes one block of 100 at a time).
pub async fn take_numbers(url: &str, device: &Device, count: u64) {
    use gridwork_core::numbering::{MAX_BLOCK, NumberBlock};
    let session = device.context().session().expect("signed in");
    let client = reqwest::Client::new();
    let mut left = count;
    while left > 0 {
        let n = left.min(u64::from(MAX_BLOCK));
        let resp = client
            .post(format!("{url}{}", gridwork_core::protocol::paths::NUMBER_BLOCKS))
            .bearer_auth(&session.token)
            .header(gridwork_core::protocol::DEVICE_HEADER, device.device_id().to_string())
            .json(&serde_json::json!({ "count": n }))
            .send()
            .await
            .expect("number blocks");
        assert_eq!(resp.status(), 200);
        let block: NumberBlock = resp.json().await.expect("a block");
        device.context().store.write(|tx| gridwork_core::store::numbers::put_block(tx, &block)).expect("keep the block");
        left -= n;
    }
}
