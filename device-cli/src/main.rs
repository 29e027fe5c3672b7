//! gridwork-device: a device on the command line, built on gridwork-core. It keeps its
//! own SQLite file, works offline, and syncs with a gridwork server when asked. Useful
//! for demos, for scripting field tests, and as a reference for the phone apps.

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use gridwork_core::model::*;
use gridwork_core::protocol::{BodyPatch, NoticePatch, RecordPatch, ReportPatch};
use gridwork_core::store::DbKey;
use gridwork_core::store::records::{RecordQuery, SyncState};
use gridwork_core::{Device, DeviceConfig, Draft, Error};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

mod case;
mod progress;

#[derive(Parser)]
#[command(name = "gridwork-device", about = "gridwork 设备命令行 (a device on the command line)")]
struct Cli {
    /// The device database file.
    #[arg(long, env = "GRIDWORK_DB", default_value = "device.db")]
    db: PathBuf,
    /// Server address.
    #[arg(long, env = "GRIDWORK_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Allow plain http:// to a server that is not this machine (no TLS: everything,
    /// passwords included, travels in clear). https:// and loopback http:// need no flag.
    #[arg(long, global = true, env = "GRIDWORK_ALLOW_PLAIN_HTTP")]
    allow_plain_http: bool,
    /// Database key (64 hex digits = raw key, anything else = passphrase). From the
    /// environment only, so it stays out of shell history and process lists.
    #[arg(skip)]
    key: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// At exit, print this process's peak resident memory to stderr (for benchmarks).
    #[arg(long, global = true)]
    peak_memory: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Log in (password from GRIDWORK_PASSWORD or standard input).
    Login {
        username: String,
    },
    Logout,
    Whoami,
    /// 随手拍: file a report.
    Report {
        #[arg(long)]
        grid: String,
        /// GB/T 47678.5 小类 code, e.g. 09006 (占道经营).
        #[arg(long)]
        category: String,
        #[arg(long)]
        desc: String,
        #[command(flatten)]
        at: At,
    },
    /// 不文明行为告知单: issue a notice. Party details from the environment
    /// (GRIDWORK_PARTY_NAME, GRIDWORK_PARTY_PHONE): personal data stays out of argv.
    Notice {
        #[arg(long)]
        grid: String,
        /// QL-STALL, QL-PILE, … MQWB, or a matter code.
        #[arg(long)]
        category: String,
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        facts: String,
        #[arg(long)]
        basis: String,
        /// YYYY-MM-DD
        #[arg(long)]
        deadline: NaiveDate,
        #[command(flatten)]
        at: At,
    },
    /// 服务日志: keep a service log.
    Log {
        #[arg(long)]
        grid: String,
        /// contact_card, complaint_reply, forum, site_visit, home_visit, collective_feedback, open_day
        #[arg(long)]
        activity: String,
        #[arg(long, default_value_t = 0)]
        participants: u32,
        #[arg(long, default_value = "")]
        summary: String,
        #[arg(long)]
        complaint: Vec<String>,
        #[arg(long)]
        reply: Vec<String>,
        #[command(flatten)]
        at: At,
    },
    /// Change a record: its status, a report's description, a notice's facts.
    Update {
        id: Uuid,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        desc: Option<String>,
        #[arg(long)]
        facts: Option<String>,
    },
    /// List records (newest first).
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// Only mine.
        #[arg(long)]
        mine: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One record with its history.
    Show {
        id: Uuid,
    },
    /// Attach a photo (JPEG, PNG or WebP file) to a record.
    Photo {
        id: Uuid,
        file: PathBuf,
        /// before | after (a notice's evidence before or after rectification)
        #[arg(long)]
        stage: Option<String>,
    },
    /// Fetch a photo of a record you may see (or its thumbnail) and print its local path.
    FetchPhoto {
        sha256: String,
        #[arg(long)]
        thumb: bool,
    },
    /// Photos only on unmetered networks (wifi), or on any network.
    PhotoPolicy {
        /// any_network | unmetered_only
        policy: String,
    },
    /// How many changes wait to sync.
    Pending,
    /// Changes the server refused.
    Rejected,
    /// Push and pull now.
    Sync,
    /// Grids of a community or communities of a street, …
    Orgs {
        #[arg(long)]
        under: Option<String>,
    },
    /// 案件: open a case and take its steps.
    Case {
        #[command(subcommand)]
        cmd: case::CaseCmd,
    },
}

#[derive(clap::Args)]
struct At {
    #[arg(long)]
    lat: f64,
    #[arg(long)]
    lon: f64,
    #[arg(long, default_value_t = 10.0)]
    accuracy: f64,
    #[arg(long)]
    address: Option<String>,
}

impl At {
    fn location(&self) -> Location {
        Location { lat: self.lat, lon: self.lon, accuracy_m: self.accuracy, address: self.address.clone() }
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    cli.key = std::env::var("GRIDWORK_DB_KEY").ok().filter(|k| !k.is_empty());
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误: {e}");
            return ExitCode::FAILURE;
        }
    };
    let peak = cli.peak_memory;
    let out = rt.block_on(run(cli));
    if peak {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            eprintln!("peak memory {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
    match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 (error): {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T>(v: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, Error> {
    f(v).ok_or_else(|| Error::Argument(format!("unknown {what}")))
}

async fn run(cli: Cli) -> Result<(), Error> {
    let device = Device::open(DeviceConfig {
        db_path: cli.db.clone(),
        server_url: cli.server.clone(),
        db_key: cli.key.as_deref().map(DbKey::parse),
        allow_plain_http: cli.allow_plain_http,
    })?;
    let json = cli.json;
    match cli.cmd {
        Cmd::Login { username } => {
            let password = match std::env::var("GRIDWORK_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| Error::Argument(e.to_string()))?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let user = device.login(&username, &password).await?;
            println!("已登录 (logged in): {} {} [{}] scope {}", user.display_name, user.username, user.role.as_str(), user.scope);
        }
        Cmd::Logout => {
            device.logout().await?;
            println!("已退出 (logged out)");
        }
        Cmd::Whoami => match device.current_user() {
            Some(u) => println!(
                "{} {} [{}] scope {} device {}",
                u.display_name,
                u.username,
                u.role.as_str(),
                u.scope,
                device.device_id()
            ),
            None => println!("未登录 (not logged in), device {}", device.device_id()),
        },
        Cmd::Report { grid, category, desc, at } => {
            let draft = Draft {
                org: device.org_for_grid(&grid)?,
                location: at.location(),
                body: RecordBody::Report(Report { category, description: desc, photos: vec![], duplicate_of: None }),
            };
            print_created(&device.create(draft)?, json);
        }
        Cmd::Notice { grid, category, shop, facts, basis, deadline, at } => {
            let name = std::env::var("GRIDWORK_PARTY_NAME").unwrap_or_default();
            let phone = std::env::var("GRIDWORK_PARTY_PHONE").ok().filter(|p| !p.is_empty());
            let draft = Draft {
                org: device.org_for_grid(&grid)?,
                location: at.location(),
                body: RecordBody::Notice(Notice {
                    number: device.next_notice_number()?,
                    category,
                    party: Party::new(name, shop, phone),
                    facts,
                    legal_basis: basis,
                    deadline,
                    photos: vec![],
                    stall: None,
                }),
            };
            print_created(&device.create(draft)?, json);
        }
        Cmd::Log { grid, activity, participants, summary, complaint, reply, at } => {
            let draft = Draft {
                org: device.org_for_grid(&grid)?,
                location: at.location(),
                body: RecordBody::ServiceLog(ServiceLog {
                    date: chrono::Local::now().date_naive(),
                    activity: parse(&activity, "activity", Activity::parse)?,
                    participants,
                    summary,
                    complaints: complaint,
                    replies: reply,
                    linked_reports: vec![],
                    photos: vec![],
                    stall: None,
                }),
            };
            print_created(&device.create(draft)?, json);
        }
        Cmd::Update { id, status, desc, facts } => {
            let current = device.get(id)?.ok_or(Error::NotFound)?.record.record;
            let body = match (current.kind(), desc, facts) {
                (RecordKind::Report, Some(d), _) => {
                    Some(BodyPatch::Report(ReportPatch { description: Some(d), ..Default::default() }))
                }
                (RecordKind::Notice, _, Some(f)) => Some(BodyPatch::Notice(NoticePatch { facts: Some(f), ..Default::default() })),
                (_, None, None) => None,
                _ => return Err(Error::Argument("--desc is for reports, --facts for notices".into())),
            };
            let status = status.map(|s| parse(&s, "status", Status::parse)).transpose()?;
            let rec = device.update(id, RecordPatch { status, body, ..Default::default() })?;
            print_created(&rec, json);
        }
        Cmd::List { kind, status, mine, limit } => {
            let query = RecordQuery {
                kind: kind.map(|k| parse(&k, "kind", RecordKind::parse)).transpose()?,
                status: status.map(|s| parse(&s, "status", Status::parse)).transpose()?,
                author: if mine { Some(device.current_user().ok_or(Error::NotLoggedIn)?.id) } else { None },
                limit: Some(limit),
                ..Default::default()
            };
            let rows = device.list(&query)?;
            if json {
                let v: Vec<_> = rows.iter().map(|r| &r.record).collect();
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                for r in rows {
                    println!(
                        "{}  {:<8} {:<6} {:<4} {}  {}",
                        r.record.id,
                        r.record.kind().label_zh(),
                        r.record.status.label_zh(),
                        sync_label(r.sync_state),
                        r.record.created_at.format("%Y-%m-%d %H:%M"),
                        title(&r.record)
                    );
                }
            }
        }
        Cmd::Show { id } => {
            let d = device.get(id)?.ok_or(Error::NotFound)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d.record.record).unwrap_or_default());
            } else {
                let r = &d.record.record;
                println!(
                    "{} {} [{}] {} / {}",
                    r.kind().label_zh(),
                    r.id,
                    r.status.label_zh(),
                    sync_label(d.record.sync_state),
                    r.status.as_str()
                );
                println!(
                    "  网格 grid {}  位置 {:.5},{:.5} ±{}m",
                    r.org.grid, r.location.lat, r.location.lon, r.location.accuracy_m
                );
                println!("  {}", title(r));
                let names: std::collections::HashMap<String, String> = device
                    .reference()?
                    .map(|r| r.users.into_iter().map(|u| (u.id, u.display_name)).collect())
                    .unwrap_or_default();
                let name = |id: &str| {
                    names.get(id).cloned().unwrap_or_else(|| if id.is_empty() { "他人".into() } else { id.to_owned() })
                };
                for h in d.history {
                    match h {
                        gridwork_core::store::history::HistoryEntry::Local(c) => println!(
                            "  {} 本机 local  {}  {}",
                            c.created_at.format("%m-%d %H:%M:%S"),
                            c.state,
                            c.message.unwrap_or_default()
                        ),
                        gridwork_core::store::history::HistoryEntry::Server(c) => println!(
                            "  {} 服务器 server #{} {}: {}",
                            c.at.format("%m-%d %H:%M:%S"),
                            c.seq,
                            name(&c.actor),
                            c.fields.join(", ")
                        ),
                    }
                }
            }
        }
        Cmd::Photo { id, file, stage } => {
            let stage = stage.map(|s| parse(&s, "stage (before | after)", PhotoStage::parse)).transpose()?;
            let p = device.attach_photo(id, &file, stage)?;
            println!(
                "照片已添加 (photo attached): {} {} {}x{} {} B, 待上传 (queued)",
                p.sha256, p.mime, p.width, p.height, p.bytes
            );
        }
        Cmd::FetchPhoto { sha256, thumb } => println!("{}", device.fetch_photo(&sha256, thumb).await?.display()),
        Cmd::PhotoPolicy { policy } => {
            device.set_photo_policy(parse(&policy, "photo policy", gridwork_core::photos::PhotoPolicy::parse)?)?;
            println!("ok");
        }
        Cmd::Pending => {
            let (photos, bytes) = device.photo_queue()?;
            println!("{} changes, {photos} photos ({bytes} B) waiting", device.pending_count()?);
        }
        Cmd::Rejected => {
            for r in device.rejected()? {
                println!("{} {} {} {} {}", r.op_id, r.record_id, r.kind.label_zh(), r.reason.as_str(), r.message);
            }
        }
        Cmd::Sync => {
            let progress = progress::Progress::to_stderr();
            let rep = device.sync_with(Some(&progress)).await;
            progress.finish();
            let rep = rep?;
            println!(
                "同步完成 (sync done): pushed {} (accepted {}, rejected {}), pulled {}, photos uploaded {}, {} round trips, {} B sent, {} B received",
                rep.pushed,
                rep.accepted,
                rep.rejected,
                rep.pulled,
                rep.photos_uploaded,
                rep.round_trips,
                rep.bytes_sent,
                rep.bytes_received
            );
        }
        Cmd::Case { cmd } => case::run(&device, cmd, json)?,
        Cmd::Orgs { under } => {
            let data = device.reference()?.ok_or(Error::NoReferenceData)?;
            for o in data.orgs.iter().filter(|o| o.parent.as_deref() == under.as_deref()) {
                println!("{}  {}  {}", o.code, o.name, o.level.as_str());
            }
        }
    }
    Ok(())
}

fn sync_label(s: SyncState) -> &'static str {
    s.label_zh()
}

fn title(r: &Record) -> String {
    match &r.body {
        RecordBody::Report(x) => format!("[{}] {}", x.category, x.description),
        RecordBody::Notice(x) => format!("{} [{}] {}", x.number, x.category, x.facts),
        RecordBody::ServiceLog(x) => format!("{} {} 人 {}", x.activity.label_zh(), x.participants, x.summary),
        RecordBody::Case(_) => case::summary(r),
    }
}

fn print_created(rec: &Record, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(rec).unwrap_or_default());
    } else {
        println!("{} {} [{}] 已保存，待同步 (saved, pending sync)", rec.kind().label_zh(), rec.id, rec.status.label_zh());
    }
}
