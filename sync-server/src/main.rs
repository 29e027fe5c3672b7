//! `gridwork-server`: serve, serve the demo city, manage accounts.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gridwork_core::model::Role;
use gridwork_server::blobs::s3::S3Config;
use gridwork_server::bootstrap;
use gridwork_server::config::Database;
use gridwork_server::domain::DomainError;
use gridwork_server::domain::clock::{ServerClock, WallClock};
use gridwork_server::http::forwarded::{ProxyNet, TrustedProxies};
use gridwork_server::service::accounts::{NewUser, Passwords};
use gridwork_server::service::evidence::PhotoFile;
use gridwork_server::service::{AccountsService, ReferenceService};
use gridwork_server::{AppState, BlobConfig, ServerConfig, open_database, start_with_state};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "gridwork-server", version, about = "gridwork 同步服务器")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the store in DIR.
    Serve {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        photos: PhotoArgs,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Serve, after seeding the demo city (潍坊) into an empty store.
    Demo {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        photos: PhotoArgs,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Back up the SQLite deployment in DIR into TO while it serves: a consistent copy of the
    /// database, then the photo files (blobs/). Restore by serving TO (stop the server,
    /// put TO in place of DIR, start). Devices that synced after the backup learn of the
    /// restore at their next sync, push again what the server lost, and pull afresh.
    Backup {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, value_name = "TO")]
        to: PathBuf,
    },
    /// Copy the SQLite deployment in DIR (records, history, op log, accounts, sessions, the
    /// photos' index, the audit trail, numbers, moderation) into an empty PostgreSQL database,
    /// in one transaction. Stop the server first; photo files stay where they are (the same
    /// --data, or the same S3 bucket). Then serve with --database: devices carry on as before.
    Migrate {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The PostgreSQL database to fill (postgres://…; best in GRIDWORK_DATABASE).
        #[arg(long, value_name = "URL", env = "GRIDWORK_DATABASE", hide_env_values = true)]
        database: String,
    },
    /// Signed evidence: a record checked against what its devices signed.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Notice numbers.
    Numbers {
        #[command(subcommand)]
        command: NumbersCommand,
    },
    /// Make a one-time enrolment code (扫码登录) for an account: prints the QR code's text
    /// (`gridwork://enrol?server=…&code=…`) on stdout, valid 10 minutes, single use.
    EnrolCode {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
        /// The account's username.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// The server's URL as the phones reach it, e.g. https://gw.example.cn.
        #[arg(long, value_name = "URL")]
        server: String,
    },
}

#[derive(Subcommand)]
enum NumbersCommand {
    /// Every block of notice numbers handed out and what became of its numbers; exit 1 if
    /// any block does not add up.
    Report {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Check a record field by field against the ops its devices signed (each signature
    /// against the key registered at sign-in) and each photo file against its signed hash;
    /// exit 1 if anything was changed. Either on a data directory (no server needs to run)
    /// with --data DIR ID, or on an evidence bundle (证据包, from the console) with
    /// --bundle FILE, its photos looked up in --photo-dir.
    Verify {
        #[arg(long, value_name = "DIR", required_unless_present = "bundle", requires = "record")]
        data: Option<PathBuf>,
        /// The record's id (with --data).
        #[arg(value_name = "ID")]
        record: Option<String>,
        #[arg(long, value_name = "FILE", conflicts_with = "data")]
        bundle: Option<PathBuf>,
        /// Where the bundle's photos are: files named by their SHA-256 (with any extension),
        /// or a copy of a data directory's blobs/.
        #[arg(long, value_name = "DIR", requires = "bundle")]
        photo_dir: Option<PathBuf>,
        #[command(flatten)]
        photos: PhotoArgs,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every link of the audit trail's hash chain; exit 1 at the first broken one.
    Verify {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// The database, when it is not the SQLite file in --data.
#[derive(Args)]
struct DatabaseArg {
    /// A PostgreSQL database (postgres://user:password@host:port/db) instead of the SQLite
    /// file in --data, which then holds only local files. Best given in the environment
    /// (GRIDWORK_DATABASE): argv is visible to every local user.
    #[arg(long, value_name = "URL", env = "GRIDWORK_DATABASE", hide_env_values = true)]
    database: Option<String>,
}

impl DatabaseArg {
    async fn open(self, data: &std::path::Path) -> anyhow::Result<gridwork_server::storage::Stores> {
        open_database(&Database::choose(data, self.database)?).await
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BlobKind {
    /// Files under DIR/blobs.
    Local,
    /// An S3-compatible bucket; credentials from GRIDWORK_S3_ACCESS_KEY / GRIDWORK_S3_SECRET_KEY.
    S3,
}

/// Where photos go and how large they may be; the deadline job and its clock.
#[derive(Args)]
struct PhotoArgs {
    /// Photo file store.
    #[arg(long, value_enum, default_value = "local")]
    blob_store: BlobKind,
    /// S3 endpoint URL, e.g. http://127.0.0.1:9000 (omit for AWS).
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    s3_region: String,
    /// Largest photo accepted, in MiB.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_photo_mb: u64,
    /// How often, in seconds, the server marks what went overdue (cases, notices).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    deadline_interval_secs: u64,
    /// A file holding an offset in seconds added to the server's clock, read again when it
    /// changes: for drills and tests of deadlines, never for production.
    #[arg(long, value_name = "FILE")]
    clock_offset_file: Option<PathBuf>,
    /// The CJK font (TrueType/OpenType, or a .ttc collection's first face) embedded in the
    /// console's PDFs (通报); default: WenQuanYi Micro Hei if installed.
    #[arg(long, value_name = "PATH", env = "GRIDWORK_FONT")]
    font: Option<PathBuf>,
    /// A reverse proxy (an address or a CIDR block, e.g. 127.0.0.1 or 10.0.0.0/8) whose
    /// X-Forwarded-For / Forwarded headers name the client (repeatable; the environment
    /// variable takes a comma-separated list). From any other peer those headers are ignored.
    #[arg(long = "trusted-proxy", value_name = "IP|CIDR", env = "GRIDWORK_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxy: Vec<ProxyNet>,
    /// Days after a notice is closed (rectified or cancelled) that its party (name, shop,
    /// phone) stays on officers' devices; 0: removed at the closure. The console keeps it.
    #[arg(long, default_value_t = gridwork_core::privacy::DEFAULT_PARTY_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    party_retention_days: u32,
}

impl PhotoArgs {
    fn into_config(self, data: PathBuf, db: DatabaseArg, addr: SocketAddr) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::new(data, addr);
        config.database = Database::choose(&config.data_dir, db.database)?;
        config.max_photo_bytes = self.max_photo_mb * 1024 * 1024;
        config.deadline_interval = std::time::Duration::from_secs(self.deadline_interval_secs);
        config.clock_offset_file = self.clock_offset_file;
        config.trusted_proxies = self.trusted_proxy;
        config.party_retention_days = self.party_retention_days;
        if let Some(font) = self.font {
            config.font = Some(font);
        }
        config.blobs = match self.blob_store {
            BlobKind::Local => BlobConfig::Local,
            BlobKind::S3 => {
                // Credentials only from the environment: argv is visible to every local user.
                let access_key =
                    std::env::var("GRIDWORK_S3_ACCESS_KEY").context("请在环境变量 GRIDWORK_S3_ACCESS_KEY 中提供 S3 访问密钥")?;
                let secret_key =
                    std::env::var("GRIDWORK_S3_SECRET_KEY").context("请在环境变量 GRIDWORK_S3_SECRET_KEY 中提供 S3 私有密钥")?;
                let bucket = self.s3_bucket.context("--blob-store s3 需要 --s3-bucket")?;
                BlobConfig::S3(S3Config { endpoint: self.s3_endpoint, bucket, region: self.s3_region, access_key, secret_key })
            }
        };
        Ok(config)
    }
}

/// HTTPS served by the server itself (no reverse proxy in front).
#[derive(Args)]
struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM, server certificate first); read again
    /// when the file changes. Needs --tls-key.
    #[arg(long, value_name = "FILE", env = "GRIDWORK_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM). Needs --tls-cert.
    #[arg(long, value_name = "FILE", env = "GRIDWORK_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    fn apply(self, mut config: ServerConfig) -> anyhow::Result<ServerConfig> {
        config.tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(gridwork_server::tls::TlsFiles::new(cert, key)),
            (None, None) => None,
            (Some(_), None) => bail!("--tls-cert 需要同时提供 --tls-key（私钥文件）"),
            (None, Some(_)) => bail!("--tls-key 需要同时提供 --tls-cert（证书文件）"),
        };
        Ok(config)
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account; the password is read from the environment variable GRIDWORK_PASSWORD.
    Add {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// grid_worker | officer | admin
        #[arg(long)]
        role: String,
        /// Org code: a grid or community (grid_worker), a district (officer), the city (admin).
        #[arg(long)]
        scope: String,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRIDWORK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        // tokio-postgres logs every statement's parameters at debug level: records' personal
        // data. Never below info, whatever GRIDWORK_LOG asks.
        .add_directive("tokio_postgres=info".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Every password check allocates argon2's 19 MiB. glibc raises its mmap threshold after
/// the first such block is freed and then serves the next ones from its arenas, which it
/// seldom gives back: the demo server grew from 330 MB to 2 GB over 280 sign-ins, and on.
/// A fixed threshold keeps large blocks mmapped and returned when freed: 27 MB before,
/// 30 MB after the same sign-ins (measured with curl, 40 at a time).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_allocations_mmapped() {
    // SAFETY: mallopt only changes allocator settings; called first thing in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_allocations_mmapped() {}

fn main() -> std::process::ExitCode {
    keep_large_allocations_mmapped();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime").block_on(async_main())
}

async fn async_main() -> std::process::ExitCode {
    init_logging();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { data, db, addr, photos, tls } => serve(tls.apply(photos.into_config(data, db, addr)?)?, false).await,
        Command::Demo { data, db, addr, photos, tls } => serve(tls.apply(photos.into_config(data, db, addr)?)?, true).await,
        Command::Audit { command: AuditCommand::Verify { data, db } } => {
            let stores = db.open(&data).await?;
            let clock = Arc::new(ServerClock::new(Arc::new(WallClock::system()), None));
            let report = gridwork_server::service::AuditService::new(stores.audit.clone(), clock).verify().await;
            stores.close().await?;
            let report = report?;
            match report.first_broken {
                None => {
                    println!("审计记录完整 (audit trail intact): {} 条 entries", report.checked);
                    Ok(())
                }
                Some(seq) => {
                    bail!("审计记录第 {seq} 条起被改动 (audit trail broken at entry {seq}); 之前 {} 条完好", report.checked)
                }
            }
        }
        Command::Backup { data, to } => backup(&data, &to).await,
        Command::Migrate { data, database } => migrate(&data, &database).await,
        Command::Evidence { command: EvidenceCommand::Verify { data, record, bundle, photo_dir, photos, db } } => {
            match (data, record, bundle) {
                (Some(data), Some(record), None) => {
                    verify_evidence(photos.into_config(data, db, SocketAddr::from(([127, 0, 0, 1], 0)))?, &record).await
                }
                (None, _, Some(bundle)) => verify_bundle(&bundle, photo_dir.as_deref()),
                _ => bail!("请给出 --data DIR 与记录编号，或 --bundle FILE (--data DIR ID | --bundle FILE)"),
            }
        }
        Command::Numbers { command: NumbersCommand::Report { data, db } } => {
            let stores = db.open(&data).await?;
            let accounts = stores.numbers.number_accounts(None, None).await;
            stores.close().await?;
            let accounts = accounts?;
            println!("号段\t首号\t末号\t设备\t已用\t作废\t交回\t遗失\t未用");
            println!("(block\tfirst\tlast\tdevice\tused\tcancelled\treturned\tlost\topen)");
            let mut unbalanced = 0;
            for a in &accounts {
                let b = &a.block;
                println!(
                    "{}〔{}〕#{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    b.prefix, b.year, b.id, b.first, b.last, a.device_id, a.used, a.cancelled, a.returned, a.lost, a.open
                );
                if a.used + a.returned + a.lost + a.open != b.len() {
                    unbalanced += 1;
                }
            }
            let total: u64 = accounts.iter().map(|a| a.block.len()).sum();
            println!("共 {} 个号段, {total} 个编号 (blocks, numbers)", accounts.len());
            if unbalanced > 0 {
                bail!("{unbalanced} 个号段对不上账 (blocks that do not add up)");
            }
            Ok(())
        }
        Command::EnrolCode { data, db, user, server } => enrol_code(Database::choose(&data, db.database)?, &user, &server).await,
        Command::User { command: UserCommand::Add { data, db, username, display_name, role, scope } } => {
            let role = Role::parse(&role).with_context(|| format!("未知角色 {role}（应为 grid_worker、officer 或 admin）"))?;
            let password = std::env::var("GRIDWORK_PASSWORD").context("请在环境变量 GRIDWORK_PASSWORD 中提供密码")?;
            let stores = db.open(&data).await?;
            if bootstrap::ensure_reference(stores.reference.as_ref()).await? {
                eprintln!("已载入潍坊市组织机构和国标分类");
            }
            // Only the accounts service: no server runs here.
            let reference = Arc::new(ReferenceService::new(stores.reference.clone(), stores.accounts.clone()).await?);
            let clock = Arc::new(ServerClock::new(Arc::new(WallClock::system()), None));
            let audit = Arc::new(gridwork_server::service::AuditService::new(stores.audit.clone(), clock.clone()));
            let numbers = Arc::new(gridwork_server::service::NumberService::new(
                stores.numbers.clone(),
                reference.clone(),
                clock.clone(),
                audit.clone(),
            ));
            let accounts = AccountsService::new(
                stores.accounts.clone(),
                reference,
                clock,
                Arc::new(Passwords::production()?),
                audit,
                numbers,
            );
            let added = accounts.add_user(NewUser { username: username.clone(), display_name, role, scope, password }).await;
            stores.close().await?;
            match added {
                Ok(user) => {
                    println!("已添加用户 {}（{}，{}）", user.username, user.role.label_zh(), user.scope);
                    Ok(())
                }
                Err(DomainError::Conflict(_)) => bail!("用户名 {username} 已存在"),
                Err(DomainError::Invalid { rejection, .. }) => bail!("{}", rejection.message),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// `enrol-code`: the QR text on stdout (for scripts and tests), the rest on stderr.
async fn enrol_code(database: Database, username: &str, server: &str) -> anyhow::Result<()> {
    let server = server.trim().trim_end_matches('/');
    let host = server.strip_prefix("https://").or_else(|| server.strip_prefix("http://")).unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        bail!("--server 应为 http:// 或 https:// 开头的服务器地址");
    }
    let stores = open_database(&database).await?;
    let reference = Arc::new(ReferenceService::new(stores.reference.clone(), stores.accounts.clone()).await?);
    let clock = Arc::new(ServerClock::new(Arc::new(WallClock::system()), None));
    let audit = Arc::new(gridwork_server::service::AuditService::new(stores.audit.clone(), clock.clone()));
    let numbers =
        Arc::new(gridwork_server::service::NumberService::new(stores.numbers.clone(), reference, clock.clone(), audit.clone()));
    let service = gridwork_server::service::EnrolmentService::new(
        stores.enrolments.clone(),
        stores.accounts.clone(),
        numbers,
        audit,
        clock,
    );
    let made = service.create_by_system(username).await;
    stores.close().await?;
    let made = match made {
        Ok(m) => m,
        Err(DomainError::NotFound) => bail!("没有用户名为 {username} 的账号"),
        Err(DomainError::Invalid { rejection, .. }) => bail!("{}", rejection.message),
        Err(e) => return Err(e.into()),
    };
    println!("{}", gridwork_server::service::enrolment::enrol_link(server, &made.code));
    let expires = made.expires_at.with_timezone(&gridwork_core::worktime::china()).format("%Y-%m-%d %H:%M");
    eprintln!(
        "已为 {}（{}）生成扫码登录码 {}，有效期至 {expires}（北京时间），只能使用一次",
        made.user.display_name,
        made.user.username,
        made.grouped()
    );
    Ok(())
}

async fn serve(config: ServerConfig, demo: bool) -> anyhow::Result<()> {
    tracing::info!(database = %config.database.describe(), "database");
    let stores = open_database(&config.database).await?;
    if bootstrap::ensure_reference(stores.reference.as_ref()).await? {
        tracing::info!("loaded the Weifang org tree and the category table");
    }
    let state = AppState::new(stores, gridwork_server::open_photo_files(&config).await?, config.wall_clock())
        .await?
        .with_font(gridwork_server::config::PdfFont::at(config.font.clone()))
        .with_trusted_proxies(TrustedProxies::new(config.trusted_proxies.clone()))
        .with_party_retention_days(config.party_retention_days);
    if !config.trusted_proxies.is_empty() {
        let list = config.trusted_proxies.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        tracing::info!(proxies = %list, "client addresses from X-Forwarded-For / Forwarded of these proxies only");
    }
    if config.font.is_none() {
        tracing::warn!("no CJK font (--font / GRIDWORK_FONT): the console's PDF bulletins are off");
    }
    if demo && bootstrap::seed_demo(&state).await? {
        tracing::info!("seeded the demo city");
    }
    let users = state.accounts().user_count().await?;
    let mut server = match config.tls.clone() {
        Some(files) => gridwork_server::tls::start_with_state_tls(state, config.addr, files).await?,
        None => start_with_state(state, config.addr).await?,
    };
    server.run_deadlines(config.deadline_interval);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "gridwork-server listening on {}", server.url())?;
        if demo {
            writeln!(out, "演示账号（密码相同）：")?;
            writeln!(out, "{}{}{}管辖范围", pad("用户名", 18), pad("密码", 16), pad("角色", 10))?;
            for l in bootstrap::demo_logins() {
                writeln!(out, "{}{}{}{}", pad(&l.username, 18), pad(l.password, 16), pad(l.role.label_zh(), 10), l.scope_name)?;
            }
        }
        out.flush()?;
    }
    if users == 0 {
        eprintln!(
            "提示：还没有任何账号。运行 `gridwork-server demo --data DIR` 载入演示数据，\
             或 `GRIDWORK_PASSWORD=... gridwork-server user add --data DIR --username U --display-name N --role admin --scope 370700`。"
        );
    }
    server.run_until(shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Left-align `s` in `width` terminal columns (CJK characters take two).
fn pad(s: &str, width: usize) -> String {
    let cols: usize = s.chars().map(|c| if c >= '\u{1100}' { 2 } else { 1 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(cols).max(1)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `gridwork-server evidence verify --data`: print each field's and photo's verdict; fail if
/// any is broken.
async fn verify_evidence(config: ServerConfig, record: &str) -> anyhow::Result<()> {
    let id = uuid::Uuid::parse_str(record.trim()).context("记录编号应为 UUID (record id)")?;
    let files = config.open_photo_files()?;
    let stores = open_database(&config.database).await?;
    let service = gridwork_server::service::EvidenceService::new(stores.records.clone(), files.blobs().clone(), None);
    let check = service.check(id).await;
    stores.close().await?;
    let check = check?.with_context(|| format!("没有记录 {id} (no such record)"))?;
    let photos: Vec<(String, &str, &str, bool)> =
        check.photos.iter().map(|(sha, f)| (sha.clone(), f.code(), f.label(), *f == PhotoFile::Altered)).collect();
    let complete = check.photos.iter().all(|(_, f)| *f == PhotoFile::Intact);
    print_evidence(&check.report, check.ops.len(), &photos, complete)
}

/// `gridwork-server evidence verify --bundle`: the same check on a bundle file alone.
fn verify_bundle(file: &std::path::Path, photo_dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    use sha2::Digest;
    let text = std::fs::read(file).with_context(|| format!("读取证据包 {} 失败", file.display()))?;
    let bundle: gridwork_core::evidence::EvidenceBundle =
        serde_json::from_slice(&text).context("证据包格式无效 (not an evidence bundle)")?;
    if bundle.format != gridwork_core::evidence::BUNDLE_FORMAT {
        bail!("不支持的证据包格式 {} (unsupported bundle format)", bundle.format);
    }
    let report = bundle.check();
    let mut photos = Vec::new();
    let mut complete = true;
    for sha in &report.photos {
        let found = photo_dir.and_then(|dir| find_photo(dir, sha));
        let (code, label, broken) = match found {
            None => {
                complete = false;
                ("not_checked", "未提供照片文件，未校验", false)
            }
            Some(path) => {
                let bytes = std::fs::read(&path).with_context(|| format!("读取照片 {} 失败", path.display()))?;
                if hex::encode(sha2::Sha256::digest(&bytes)) == *sha {
                    ("intact", PhotoFile::Intact.label(), false)
                } else {
                    complete = false;
                    ("altered", PhotoFile::Altered.label(), true)
                }
            }
        };
        photos.push((sha.clone(), code, label, broken));
    }
    println!("证据包 (bundle) {}", file.display());
    print_evidence(&report, bundle.ops.len(), &photos, complete)
}

/// The file of photo `sha256` under `dir`: named by its hash (any extension), or where a
/// data directory's blobs/ keeps it.
fn find_photo(dir: &std::path::Path, sha256: &str) -> Option<PathBuf> {
    let blob = dir.join(gridwork_server::blobs::photo_key(sha256));
    if blob.is_file() {
        return Some(blob);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.split('.').next() == Some(sha256)))
}

/// Each field's verdict, each photo's (sha, code, label, broken), the bad signatures; an
/// error if anything is broken.
fn print_evidence(
    report: &gridwork_core::evidence::EvidenceReport,
    signed_ops: usize,
    photos: &[(String, &str, &str, bool)],
    photos_complete: bool,
) -> anyhow::Result<()> {
    use gridwork_core::evidence::FieldVerdict;
    let id = report.record_id;
    println!("记录 {id}: {signed_ops} 条签名修改 (signed ops)");
    for (field, verdict) in &report.fields {
        let by = match verdict {
            FieldVerdict::Signed { op_id, user_id, device_id } => format!("\t{user_id}\t{device_id}\t{op_id}"),
            FieldVerdict::BadSignature { op_id } | FieldVerdict::Altered { op_id } => format!("\t\t\t{op_id}"),
            FieldVerdict::Unsigned => String::new(),
        };
        println!("{field}\t{}\t{}{by}", verdict.code(), verdict.label());
    }
    for (sha, code, label, _) in photos {
        println!("photo {sha}\t{code}\t{label}");
    }
    for op in &report.bad_signatures {
        println!("bad_signature\t{op}");
    }
    if !report.intact() || photos.iter().any(|p| p.3) {
        bail!("记录 {id} 与设备签名不符 (evidence broken)");
    }
    let all_signed = report.fields.iter().all(|(_, v)| matches!(v, FieldVerdict::Signed { .. }));
    if all_signed && photos_complete {
        println!("完好：全部内容与设备签名一致 (intact, fully signed)");
    } else {
        println!("完好：签名均有效，部分内容无设备签名或照片未校验 (intact, partly unsigned)");
    }
    Ok(())
}

/// `gridwork-server migrate`: SQLite (brought to the current schema) into PostgreSQL.
async fn migrate(data: &std::path::Path, url: &str) -> anyhow::Result<()> {
    use gridwork_server::storage::{postgres, sqlite};
    let Database::Postgres(url) = Database::choose(data, Some(url.to_owned()))? else {
        bail!("--database 需要 PostgreSQL 连接串 (postgres://…)");
    };
    let file = data.join(sqlite::DB_FILE);
    if !file.is_file() {
        bail!("{} 中没有 SQLite 数据库 ({} not found)", data.display(), sqlite::DB_FILE);
    }
    let dir = data.to_path_buf();
    let source = tokio::task::spawn_blocking(move || sqlite::SqliteStorage::open(&dir)).await.context("migrate")??;
    gridwork_server::storage::Backend::close(&source).await?;
    let target = postgres::PgStorage::open(&url).await.with_context(|| format!("连接 {} 失败", postgres::redacted(&url)))?;
    let report = postgres::import::import_sqlite(&file, &target).await;
    gridwork_server::storage::Backend::close(&target).await?;
    let report = report.context("迁移失败，PostgreSQL 数据库未改动 (migration failed; nothing was written)")?;
    for (table, rows) in &report.tables {
        println!("{table}\t{rows}");
    }
    println!(
        "已迁移 {} 条记录、{} 个账号、{} 条审计记录到 {} (migrated records, accounts, audit entries)",
        report.rows("records"),
        report.rows("users"),
        report.rows("audit_log"),
        postgres::redacted(&url)
    );
    Ok(())
}

/// `gridwork-server backup`: the database first (a snapshot), then the photo files, which
/// are never changed once written: every file the snapshot lists was there before it.
async fn backup(data: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let (from, into) = (data.to_path_buf(), to.to_path_buf());
    let report = tokio::task::spawn_blocking(move || gridwork_server::storage::sqlite::backup::backup(&from, &into))
        .await
        .context("backup")?
        .context("备份数据库失败 (database backup)")?;
    let (from, into) = (data.join("blobs"), to.join("blobs"));
    let files = tokio::task::spawn_blocking(move || copy_tree(&from, &into)).await.context("backup")??;
    println!(
        "已备份 {} 条记录（序号至 {}）和 {files} 个照片文件到 {} (backed up records, photo files)",
        report.records,
        report.base,
        to.display()
    );
    println!("照片存于 S3 时不在此备份中，请使用对象存储自身的版本或复制功能 (S3 photos are not copied)");
    Ok(())
}

/// Copy the files under `from` into `to` (made as needed), skipping the blob store's
/// `.tmp` directory of unfinished puts; how many.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<u64> {
    if !from.is_dir() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    let mut n = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".tmp" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("复制 {} 失败", src.display()))?;
            n += 1;
        }
    }
    Ok(n)
}
