//! `gridwork-device case …`: the case loop on the command line, as an admin, an officer or
//! a grid worker does it on a phone: offline, synced later.

use clap::Subcommand;
use gridwork_core::cases::{Assignee, Case, CaseSource, StepAction};
use gridwork_core::model::{Location, PhotoStage, Record, RecordBody};
use gridwork_core::{CaseDraft, Device, Error};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum CaseCmd {
    /// 立案: open a case from a report, notice or service log (its id), or a hotline call.
    Open {
        /// The record the case comes from (omit with --hotline).
        #[arg(long)]
        from: Option<Uuid>,
        /// The complaint of a service log (its index) the case is about.
        #[arg(long)]
        complaint: Option<u32>,
        /// A 12345 call: give --grid, --lat and --lon.
        #[arg(long)]
        hotline: bool,
        #[arg(long)]
        grid: Option<String>,
        #[arg(long)]
        lat: Option<f64>,
        #[arg(long)]
        lon: Option<f64>,
        /// GB/T 47678.5 小类 code.
        #[arg(long)]
        category: String,
        #[arg(long)]
        desc: String,
    },
    /// 派遣: to an officer (username) or a brigade (its district code).
    Dispatch {
        id: Uuid,
        #[arg(long, conflicts_with = "to_unit")]
        to_officer: Option<String>,
        #[arg(long)]
        to_unit: Option<String>,
        #[command(flatten)]
        note: Note,
    },
    /// 回退: send a wrong dispatch back.
    SendBack {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// 处置完成: report the work done, with "after" photos.
    Handle {
        id: Uuid,
        #[command(flatten)]
        note: Note,
        #[arg(long = "photo")]
        photos: Vec<PathBuf>,
    },
    /// 核查: --pass closes the case, --fail sends it back (返工).
    Verify {
        id: Uuid,
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
        #[command(flatten)]
        note: Note,
        #[arg(long = "photo")]
        photos: Vec<PathBuf>,
    },
    /// 申请延期 by this many working minutes.
    Extend {
        id: Uuid,
        #[arg(long)]
        minutes: u32,
        #[command(flatten)]
        note: Note,
    },
    /// 审批延期.
    DecideExtension {
        id: Uuid,
        #[arg(long, conflicts_with = "refuse")]
        approve: bool,
        #[arg(long)]
        refuse: bool,
    },
    /// 缓办.
    Pause {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// The clock runs again.
    Resume { id: Uuid },
    /// 挂账.
    Suspend {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// 督办 an overdue case.
    Supervise {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// 答复: the public reply to the reporter.
    Reply {
        id: Uuid,
        #[arg(long)]
        text: String,
    },
    /// An internal note.
    Note {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// 作废.
    Void {
        id: Uuid,
        #[command(flatten)]
        note: Note,
    },
    /// The case with its timeline and the working time left.
    Show { id: Uuid },
    /// The case opened from a record (e.g. your report) and its reply.
    Of { record: Uuid },
}

#[derive(clap::Args)]
pub struct Note {
    /// A note for the timeline.
    #[arg(long)]
    note: Option<String>,
}

fn case_of(r: &Record) -> Result<&Case, Error> {
    match &r.body {
        RecordBody::Case(c) => Ok(c),
        _ => Err(Error::Argument("不是案件 (not a case)".into())),
    }
}

fn user_id(device: &Device, username: &str) -> Result<String, Error> {
    let data = device.reference()?.ok_or(Error::NoReferenceData)?;
    data.users
        .into_iter()
        .find(|u| u.username == username)
        .map(|u| u.id)
        .ok_or_else(|| Error::Argument(format!("unknown user {username}")))
}

/// One line of a case: number, stage, deadline.
pub fn summary(r: &Record) -> String {
    let Ok(c) = case_of(r) else { return String::new() };
    let number = c.number.as_deref().unwrap_or("（待编号）");
    let flags = [(c.overdue, " 超期"), (c.supervised, " 督办"), (c.paused_since.is_some(), " 缓办")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, s)| *s)
        .collect::<String>();
    format!("{number} [{}] {}{flags}", c.category, c.description)
}

pub fn run(device: &Device, cmd: CaseCmd, json: bool) -> Result<(), Error> {
    let step = |id: Uuid, action: StepAction, note: Option<String>, photos: Vec<PathBuf>, stage: Option<PhotoStage>| {
        let photos = photos.iter().map(|p| device.take_photo(p, stage)).collect::<Result<Vec<_>, _>>()?;
        device.case_step(id, action, note, photos)
    };
    let rec = match cmd {
        CaseCmd::Open { from, complaint, hotline, grid, lat, lon, category, desc } => {
            let (source, place) = match (from, hotline) {
                (Some(id), false) => {
                    let kind = device.get(id)?.ok_or(Error::NotFound)?.record.record.kind();
                    let source = match (kind, complaint) {
                        (gridwork_core::model::RecordKind::Report, _) => CaseSource::Report { id },
                        (gridwork_core::model::RecordKind::Notice, _) => CaseSource::Notice { id },
                        (gridwork_core::model::RecordKind::ServiceLog, Some(complaint)) => {
                            CaseSource::ServiceLog { id, complaint }
                        }
                        (gridwork_core::model::RecordKind::ServiceLog, None) => {
                            return Err(Error::Argument("--complaint N: which complaint of the log".into()));
                        }
                        (gridwork_core::model::RecordKind::Case, _) => {
                            return Err(Error::Argument("a case cannot open a case".into()));
                        }
                    };
                    (source, None)
                }
                (None, true) => {
                    let (Some(grid), Some(lat), Some(lon)) = (grid, lat, lon) else {
                        return Err(Error::Argument("--hotline needs --grid, --lat and --lon".into()));
                    };
                    let org = device.org_for_grid(&grid)?;
                    (CaseSource::Hotline, Some((org, Location { lat, lon, accuracy_m: 10.0, address: None })))
                }
                _ => return Err(Error::Argument("give --from ID or --hotline".into())),
            };
            device.open_case(CaseDraft { source, place, category, description: desc })?
        }
        CaseCmd::Dispatch { id, to_officer, to_unit, note } => {
            let to = match (to_officer, to_unit) {
                (Some(u), None) => Assignee::Officer { user_id: user_id(device, &u)? },
                (None, Some(code)) => Assignee::Unit { code },
                _ => return Err(Error::Argument("--to-officer USERNAME or --to-unit DISTRICT".into())),
            };
            step(id, StepAction::Dispatch { to }, note.note, vec![], None)?
        }
        CaseCmd::SendBack { id, note } => step(id, StepAction::SendBack, note.note, vec![], None)?,
        CaseCmd::Handle { id, note, photos } => step(id, StepAction::Handle, note.note, photos, Some(PhotoStage::After))?,
        CaseCmd::Verify { id, pass, fail, note, photos } => {
            if pass == fail {
                return Err(Error::Argument("--pass or --fail".into()));
            }
            step(id, StepAction::Verify { passed: pass }, note.note, photos, Some(PhotoStage::After))?
        }
        CaseCmd::Extend { id, minutes, note } => {
            step(id, StepAction::RequestExtension { working_minutes: minutes }, note.note, vec![], None)?
        }
        CaseCmd::DecideExtension { id, approve, refuse } => {
            if approve == refuse {
                return Err(Error::Argument("--approve or --refuse".into()));
            }
            step(id, StepAction::DecideExtension { approved: approve }, None, vec![], None)?
        }
        CaseCmd::Pause { id, note } => step(id, StepAction::Pause, note.note, vec![], None)?,
        CaseCmd::Resume { id } => step(id, StepAction::Resume, None, vec![], None)?,
        CaseCmd::Suspend { id, note } => step(id, StepAction::Suspend, note.note, vec![], None)?,
        CaseCmd::Supervise { id, note } => step(id, StepAction::Supervise, note.note, vec![], None)?,
        CaseCmd::Reply { id, text } => step(id, StepAction::Reply { text }, None, vec![], None)?,
        CaseCmd::Note { id, note } => step(id, StepAction::Note, note.note, vec![], None)?,
        CaseCmd::Void { id, note } => step(id, StepAction::Void, note.note, vec![], None)?,
        CaseCmd::Show { id } => {
            let rec = device.get(id)?.ok_or(Error::NotFound)?.record.record;
            if json {
                println!("{}", serde_json::to_string_pretty(&rec).unwrap_or_default());
                return Ok(());
            }
            show(device, &rec)?;
            return Ok(());
        }
        CaseCmd::Of { record } => {
            let Some(local) = device.case_of(record)? else {
                println!("尚未立案 (no case)");
                return Ok(());
            };
            show(device, &local.record)?;
            return Ok(());
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&rec).unwrap_or_default());
    } else {
        println!("案件 {} [{}] {} 已保存，待同步 (saved, pending sync)", rec.id, rec.status.label_zh(), summary(&rec));
    }
    Ok(())
}

fn show(device: &Device, rec: &Record) -> Result<(), Error> {
    let c = case_of(rec)?;
    println!("案件 {} [{}] / {}", rec.id, rec.status.label_zh(), rec.status.as_str());
    println!("  {}", summary(rec));
    if let Some(due) = c.due_at {
        let left =
            device.case_remaining(rec.id)?.map(|m| format!("，剩余 {m} 工作分钟 (working minutes left)")).unwrap_or_default();
        println!("  期限 due {}{left}", due.with_timezone(&gridwork_core::worktime::china()).format("%Y-%m-%d %H:%M"));
    }
    if let Some(reply) = &c.reply {
        println!("  答复 reply: {reply}");
    }
    let names: std::collections::HashMap<String, String> =
        device.reference()?.map(|r| r.users.into_iter().map(|u| (u.id, u.display_name)).collect()).unwrap_or_default();
    for e in &c.timeline {
        let who = names
            .get(&e.by)
            .cloned()
            .unwrap_or_else(|| if e.by == gridwork_core::cases::SYSTEM_USER { "系统".into() } else { e.by.clone() });
        let at = e.at.with_timezone(&gridwork_core::worktime::china()).format("%m-%d %H:%M");
        let note = e.note.as_deref().map(|n| format!("：{n}")).unwrap_or_default();
        let photos = if e.photos.is_empty() { String::new() } else { format!(" ({} 张照片)", e.photos.len()) };
        println!("  {at} {who} {} ({}) → {}{note}{photos}", e.action.label_zh(), e.action, e.to.label_zh());
    }
    Ok(())
}
