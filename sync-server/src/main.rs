//! `gridwork-server`: serve, serve the demo city, manage accounts.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gridwork_core::model::Role;
use gridwork_server::blobs::s3::S3Config;
use gridwork_server::bootstrap;
use gridwork_server::domain::DomainError;
use gridwork_server::domain::clock::{ServerClock, WallClock};
use gridwork_server::service::accounts::{NewUser, Passwords};
use gridwork_server::service::{AccountsService, ReferenceService};
use gridwork_server::{AppState, BlobConfig, ServerConfig, open_store, start_with_state};
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
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        photos: PhotoArgs,
    },
    /// Serve, after seeding the demo city (潍坊) into an empty store.
    Demo {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        photos: PhotoArgs,
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
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every link of the audit trail's hash chain; exit 1 at the first broken one.
    Verify {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
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
}

impl PhotoArgs {
    fn into_config(self, data: PathBuf, addr: SocketAddr) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::new(data, addr);
        config.max_photo_bytes = self.max_photo_mb * 1024 * 1024;
        config.deadline_interval = std::time::Duration::from_secs(self.deadline_interval_secs);
        config.clock_offset_file = self.clock_offset_file;
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

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account; the password is read from the environment variable GRIDWORK_PASSWORD.
    Add {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
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
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
        Command::Serve { data, addr, photos } => serve(photos.into_config(data, addr)?, false).await,
        Command::Demo { data, addr, photos } => serve(photos.into_config(data, addr)?, true).await,
        Command::Audit { command: AuditCommand::Verify { data } } => {
            let stores = open_store(data).await?;
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
        Command::Numbers { command: NumbersCommand::Report { data } } => {
            let stores = open_store(data).await?;
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
        Command::EnrolCode { data, user, server } => enrol_code(data, &user, &server).await,
        Command::User { command: UserCommand::Add { data, username, display_name, role, scope } } => {
            let role = Role::parse(&role).with_context(|| format!("未知角色 {role}（应为 grid_worker、officer 或 admin）"))?;
            let password = std::env::var("GRIDWORK_PASSWORD").context("请在环境变量 GRIDWORK_PASSWORD 中提供密码")?;
            let stores = open_store(data).await?;
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
async fn enrol_code(data: PathBuf, username: &str, server: &str) -> anyhow::Result<()> {
    let server = server.trim().trim_end_matches('/');
    let host = server.strip_prefix("https://").or_else(|| server.strip_prefix("http://")).unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        bail!("--server 应为 http:// 或 https:// 开头的服务器地址");
    }
    let stores = open_store(data).await?;
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
    let stores = open_store(config.data_dir.clone()).await?;
    if bootstrap::ensure_reference(stores.reference.as_ref()).await? {
        tracing::info!("loaded the Weifang org tree and the category table");
    }
    let state = AppState::new(stores, config.open_photo_files()?, config.wall_clock())
        .await?
        .with_font(gridwork_server::config::PdfFont::at(config.font.clone()));
    if config.font.is_none() {
        tracing::warn!("no CJK font (--font / GRIDWORK_FONT): the console's PDF bulletins are off");
    }
    if demo && bootstrap::seed_demo(&state).await? {
        tracing::info!("seeded the demo city");
    }
    let users = state.accounts().user_count().await?;
    let mut server = start_with_state(state, config.addr).await?;
    server.run_deadlines(config.deadline_interval);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "gridwork-server listening on http://{}", server.addr)?;
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
