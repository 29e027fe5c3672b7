//! Randomized sessions through a fault-injecting proxy (`gridwork_e2e::faults`): a grid
//! worker, an officer and an admin, each on a device core, file reports and service logs,
//! edit them, attach photos, and carry cases through 立案 → 派遣 → 处置 → 核查, syncing at
//! random while the link drops, cuts, delays, duplicates and replays requests; the server is
//! killed (SIGKILL) and restarted at random; a device is killed mid-sync (its sync dropped
//! half-way, or its command-line process killed with SIGKILL) and reopened.
//!
//! After each session the link is made clean and every device syncs until nothing is
//! pending; then an auditor (an admin device on a direct link) pulls the server's state and
//! the tally is exact: every change a device accepted is on the server once (no record
//! lost, no edit lost, no case step lost or applied twice, no photo lost or corrupt), and
//! every device shows what the server has.
//!
//! Seeded and reproducible: `GRIDWORK_FAULT_SEED` (default: fixed) and
//! `GRIDWORK_FAULT_SESSIONS` (default 100). The soak: `scripts/soak.sh` (1,000 sessions).
//! A failure prints the session's seed.

use gridwork_core::cases::{Assignee, Case, CaseSource, StepAction};
use gridwork_core::model::{PhotoStage, Record, RecordBody, Role, Status};
use gridwork_core::photos::sample::sample_jpeg;
use gridwork_core::protocol::{BodyPatch, RecordPatch, ReportPatch, ServiceLogPatch};
use gridwork_core::{CaseDraft, Device, DeviceConfig};
use gridwork_e2e::faults::{FaultProxy, Rng};
use gridwork_e2e::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What one device accepted locally, which the server must end up with.
#[derive(Default)]
struct Expected {
    /// Record id → the text its author last gave it (description or summary).
    texts: BTreeMap<Uuid, String>,
    /// Record id → the photos listed on it (sha256 → its bytes' hash, the same by design).
    photos: BTreeMap<Uuid, Vec<String>>,
    /// Case id → (its timeline's length: the opening and each step; the stage it must end in).
    cases: BTreeMap<Uuid, (usize, Status)>,
    /// Reports a case was opened from (no longer edited by their author).
    cased: std::collections::HashSet<Uuid>,
}

#[derive(Default, Debug)]
struct Tally {
    sessions: u64,
    records: u64,
    edits: u64,
    steps: u64,
    photos: u64,
    syncs: u64,
    failed_syncs: u64,
    /// Time spent in syncs (ms).
    sync_ms: u64,
    /// Sign-ins again after a duplicated or replayed login ended the phone's session.
    relogins: u64,
    server_kills: u64,
    restart_ms: u64,
    device_kills: u64,
    process_kills: u64,
    lost: u64,
    duplicated: u64,
    diverged: u64,
}

struct Phone {
    name: &'static str,
    user: &'static str,
    device: Option<Device>,
    db: PathBuf,
    url: String,
}

impl Phone {
    fn open(db: &Path, url: &str) -> Device {
        Device::open(DeviceConfig {
            db_path: db.to_path_buf(),
            server_url: url.to_owned(),
            db_key: None,
            allow_plain_http: false,
        })
        .expect("open device")
    }

    fn d(&self) -> &Device {
        self.device.as_ref().expect("device open")
    }

    /// The device is killed and its app started again on the same database.
    fn reopen(&mut self) {
        self.device = None;
        self.device = Some(Phone::open(&self.db, &self.url));
    }
}

fn text_of(r: &Record) -> Option<&str> {
    match &r.body {
        RecordBody::Report(x) => Some(&x.description),
        RecordBody::ServiceLog(x) => Some(&x.summary),
        _ => None,
    }
}

fn photos_of(r: &Record) -> Vec<String> {
    match &r.body {
        RecordBody::Report(x) => x.photos.iter().map(|p| p.sha256.clone()).collect(),
        RecordBody::Case(c) => c.photos.iter().map(|p| p.sha256.clone()).collect(),
        _ => vec![],
    }
}

fn case_of(r: &Record) -> Option<&Case> {
    if let RecordBody::Case(c) = &r.body { Some(c) } else { None }
}

/// One sync under a deadline (a hung link must not hang the suite).
async fn sync(d: &Device, tally: &mut Tally) -> Result<(), Option<gridwork_core::Error>> {
    tally.syncs += 1;
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(20), d.sync()).await;
    tally.sync_ms += t.elapsed().as_millis() as u64;
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            tally.failed_syncs += 1;
            Err(Some(e))
        }
        Err(_) => {
            tally.failed_syncs += 1;
            Err(None)
        }
    }
}

/// A phone's sync. Told its session ended, the user signs in again, as the app asks them
/// to: a login request the link sent twice (or replayed) is a new sign-in of the same
/// device, which ends the token the phone holds. Its unsent work stays and goes after.
async fn sync_phone(p: &Phone, tally: &mut Tally) {
    if let Err(Some(gridwork_core::Error::Unauthorized)) = sync(p.d(), tally).await {
        tally.relogins += 1;
        login(p).await;
    }
}

async fn login(phone: &Phone) {
    for _ in 0..50 {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(20), phone.d().login(phone.user, PASSWORD)).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} could not sign in through the faulty link", phone.name);
}

/// Kill the device's command-line process mid-sync (SIGKILL after a random moment).
fn kill_cli_mid_sync(phone: &Phone, rng: &mut Rng) -> bool {
    let bin = match std::panic::catch_unwind(device_bin) {
        Ok(b) => b,
        Err(_) => return false,
    };
    let Ok(mut child) = std::process::Command::new(bin)
        .arg("sync")
        .env("GRIDWORK_DB", &phone.db)
        .env("GRIDWORK_SERVER", &phone.url)
        .env_remove("GRIDWORK_DB_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    std::thread::sleep(Duration::from_millis(rng.below(400)));
    let _ = child.kill();
    let _ = child.wait();
    true
}

struct Session<'a> {
    rng: Rng,
    tag: String,
    dir: PathBuf,
    proxy: &'a FaultProxy,
    officer_id: String,
}

impl Session<'_> {
    fn photo(&mut self) -> PathBuf {
        let seed = self.rng.next_u64() as u32;
        let p = self.dir.join(format!("photo-{seed:x}.jpg"));
        std::fs::write(&p, sample_jpeg(96, 64, 80, seed, None)).expect("write photo");
        p
    }
}

/// The three phones of every session, signed in once (the demo city's first pull is the
/// long part; each session then syncs only what changed, as a day's work does).
async fn phones(dir: &Path, url: &str) -> Vec<Phone> {
    let mut phones = vec![
        Phone { name: "grid", user: "grid.kw01", device: None, db: dir.join("grid.db"), url: url.to_owned() },
        Phone { name: "officer", user: "officer.kuiwen", device: None, db: dir.join("officer.db"), url: url.to_owned() },
        Phone { name: "admin", user: "admin", device: None, db: dir.join("admin.db"), url: url.to_owned() },
    ];
    for p in &mut phones {
        p.reopen();
        login(p).await;
        p.d().sync().await.expect("the first sync, on a clean link");
    }
    phones
}

/// One randomized session; returns what the devices accepted.
async fn run_session(s: &mut Session<'_>, phones: &mut [Phone], server: &mut Server, tally: &mut Tally) -> Expected {
    let mut exp = Expected::default();
    let steps = 15 + s.rng.below(15);
    for n in 0..steps {
        match s.rng.below(100) {
            // 上报 with or without a photo.
            0..=14 => {
                let d = phones[0].d();
                let text = format!("{} 上报{n} 路边占道经营", s.tag);
                let rec = d.create(report(d, KW_GRID, &text)).expect("create report");
                exp.texts.insert(rec.id, text);
                tally.records += 1;
                if s.rng.chance(40) {
                    let file = s.photo();
                    let p = d.attach_photo(rec.id, &file, Some(PhotoStage::Before)).expect("attach");
                    exp.photos.entry(rec.id).or_default().push(p.sha256);
                    tally.photos += 1;
                }
            }
            // 服务日志 by the officer.
            15..=21 => {
                let d = phones[1].d();
                let mut draft = service_log(d, KW_GRID);
                let text = format!("{} 走访{n}", s.tag);
                if let RecordBody::ServiceLog(l) = &mut draft.body {
                    l.summary = text.clone();
                    l.complaints.clear();
                    l.replies.clear();
                }
                let rec = d.create(draft).expect("create log");
                exp.texts.insert(rec.id, text);
                tally.records += 1;
            }
            // An author edits one of their own records.
            22..=33 => {
                let own: Vec<Uuid> = exp.texts.keys().copied().filter(|id| !exp.cased.contains(id)).collect();
                if own.is_empty() {
                    continue;
                }
                let id = *s.rng.pick(&own);
                let text = format!("{} 修改{n}", s.tag);
                let (phone, patch) = match phones[0].d().get(id).ok().flatten() {
                    Some(r) if matches!(r.record.record.body, RecordBody::Report(_)) => {
                        (&phones[0], BodyPatch::Report(ReportPatch { description: Some(text.clone()), ..Default::default() }))
                    }
                    _ => {
                        (&phones[1], BodyPatch::ServiceLog(ServiceLogPatch { summary: Some(text.clone()), ..Default::default() }))
                    }
                };
                if phone.d().update(id, RecordPatch { body: Some(patch), ..Default::default() }).is_ok() {
                    exp.texts.insert(id, text);
                    tally.edits += 1;
                }
            }
            // The case loop: the admin opens and dispatches, the officer handles, the grid
            // worker verifies; each only on what its own device shows.
            34..=53 => {
                let admin = phones[2].d();
                let reports: Vec<Uuid> = exp
                    .texts
                    .keys()
                    .copied()
                    .filter(|id| {
                        !exp.cased.contains(id)
                            && admin.get(*id).ok().flatten().is_some_and(|r| {
                                r.record.record.status == Status::Submitted
                                    && matches!(r.record.record.body, RecordBody::Report(_))
                            })
                    })
                    .collect();
                if let Some(&rid) = reports.first() {
                    let draft = CaseDraft {
                        source: CaseSource::Report { id: rid },
                        place: None,
                        category: "09006".into(),
                        description: format!("{} 立案", s.tag),
                    };
                    if let Ok(c) = admin.open_case(draft) {
                        let to = Assignee::Officer { user_id: s.officer_id.clone() };
                        admin.case_step(c.id, StepAction::Dispatch { to }, None, vec![]).expect("dispatch");
                        exp.cases.insert(c.id, (2, Status::Dispatched));
                        exp.cased.insert(rid);
                        tally.steps += 2;
                    }
                }
                for (id, (count, stage)) in exp.cases.iter_mut() {
                    let (phone, action, next) = match stage {
                        Status::Dispatched => (&phones[1], StepAction::Handle, Status::Handled),
                        Status::Handled => (&phones[0], StepAction::Verify { passed: true }, Status::Closed),
                        _ => continue,
                    };
                    let shown = phone.d().get(*id).ok().flatten().map(|r| r.record.record.status);
                    if shown == Some(*stage) && phone.d().case_step(*id, action, None, vec![]).is_ok() {
                        *count += 1;
                        *stage = next;
                        tally.steps += 1;
                    }
                }
            }
            // A sync on one device.
            54..=77 => {
                let i = s.rng.below(3) as usize;
                sync_phone(&phones[i], tally).await;
            }
            // A device killed mid-sync and reopened.
            78..=84 => {
                let i = s.rng.below(3) as usize;
                if s.rng.chance(50) {
                    let ms = s.rng.below(300);
                    let _ = tokio::time::timeout(Duration::from_millis(ms), phones[i].d().sync()).await;
                    phones[i].reopen();
                    tally.device_kills += 1;
                } else {
                    phones[i].device = None;
                    if kill_cli_mid_sync(&phones[i], &mut s.rng) {
                        tally.process_kills += 1;
                    }
                    phones[i].reopen();
                }
            }
            // The server crashes and comes back.
            85..=89 => {
                let t = Instant::now();
                server.crash();
                server.restart();
                tally.restart_ms += t.elapsed().as_millis() as u64;
                tally.server_kills += 1;
            }
            // Signal comes and goes: everyone syncs.
            _ => {
                for p in phones.iter() {
                    sync_phone(p, tally).await;
                }
            }
        }
    }
    exp
}

/// The link made clean, every device syncs until nothing is left to send.
async fn settle(s: &Session<'_>, phones: &[Phone], tally: &mut Tally) {
    s.proxy.set_rate(0);
    for round in 0..12 {
        for p in phones.iter() {
            sync_phone(p, tally).await;
        }
        let pending: u64 = phones.iter().map(|p| p.d().pending_count().unwrap() + p.d().photo_queue().unwrap().0).sum();
        if pending == 0 && round >= 1 {
            break;
        }
    }
    for p in phones.iter() {
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(20), p.d().sync()).await {
            eprintln!("settle: {} cannot sync: {e} ({:?})", p.name, e);
        }
    }
}

/// The tally of one session against the auditor's view of the server.
async fn audit(
    seed: u64,
    auditor: &Device,
    phones: &[Phone],
    exp: &Expected,
    tag: &str,
    since: chrono::DateTime<chrono::Utc>,
    tally: &mut Tally,
) {
    assert!(sync(auditor, tally).await.is_ok(), "seed {seed}: the auditor syncs on a clean link");
    let query = gridwork_core::store::records::RecordQuery { created_from: Some(since), limit: Some(1000), ..Default::default() };
    let on_server: HashMap<Uuid, Record> = auditor
        .list(&query)
        .unwrap()
        .into_iter()
        .map(|r| (r.record.id, r.record))
        .filter(|(_, r)| {
            text_of(r).is_some_and(|t| t.starts_with(tag)) || case_of(r).is_some_and(|c| c.description.starts_with(tag))
        })
        .collect();
    let mut problems = Vec::new();
    for (id, text) in &exp.texts {
        match on_server.get(id) {
            None => {
                tally.lost += 1;
                let seen: Vec<String> = phones
                    .iter()
                    .map(|p| match p.d().get(*id).ok().flatten() {
                        Some(l) => format!("{}: {:?} {:?}", p.name, l.record.sync_state, l.record.record.seq),
                        None => format!("{}: absent", p.name),
                    })
                    .collect();
                let direct = auditor.get(*id).ok().flatten().map(|l| format!("{:?}", l.record.record.created_at));
                problems.push(format!("record {id} is not on the server ({}; auditor: {direct:?})", seen.join(", ")));
            }
            Some(r) if text_of(r) != Some(text.as_str()) => {
                tally.lost += 1;
                problems.push(format!("record {id}: the last edit {text:?} lost, server has {:?}", text_of(r)));
            }
            Some(_) => {}
        }
    }
    for (id, shas) in &exp.photos {
        let Some(r) = on_server.get(id) else { continue };
        let listed = photos_of(r);
        if listed.len() != shas.len() {
            tally.duplicated += u64::from(listed.len() > shas.len());
            tally.lost += u64::from(listed.len() < shas.len());
            problems.push(format!("record {id}: photos {listed:?}, expected {shas:?}"));
        }
        for sha in shas {
            match auditor.fetch_photo(sha, false).await {
                Ok(file) => {
                    let got = hex::encode(Sha256::digest(std::fs::read(&file).unwrap()));
                    if &got != sha {
                        tally.lost += 1;
                        problems.push(format!("photo {sha} is corrupt on the server ({got})"));
                    }
                }
                Err(e) => {
                    tally.lost += 1;
                    problems.push(format!("photo {sha} cannot be fetched: {e}"));
                }
            }
        }
    }
    for (id, (steps, stage)) in &exp.cases {
        let Some(c) = on_server.get(id) else {
            tally.lost += 1;
            problems.push(format!("case {id} is not on the server"));
            continue;
        };
        let timeline = case_of(c).map(|k| k.timeline.len()).unwrap_or(0);
        if timeline > *steps {
            tally.duplicated += 1;
            problems.push(format!("case {id}: {timeline} timeline entries for {steps} steps"));
        } else if timeline < *steps || c.status != *stage {
            tally.lost += 1;
            problems.push(format!("case {id}: {timeline} entries, {:?}, expected {steps} and {stage:?}", c.status));
        }
    }
    let expected_total = exp.texts.len() + exp.cases.len();
    if on_server.len() > expected_total {
        tally.duplicated += (on_server.len() - expected_total) as u64;
        problems.push(format!("{} records on the server for {expected_total} made", on_server.len()));
    }
    // Every device shows what the server has, for what it may see.
    for p in phones {
        for (id, r) in &on_server {
            if let Some(local) = p.d().get(*id).unwrap() {
                let l = &local.record.record;
                if text_of(l) != text_of(r) || l.status != r.status || photos_of(l) != photos_of(r) {
                    tally.diverged += 1;
                    problems.push(format!(
                        "{} shows {id} as {:?}/{:?}, server {:?}/{:?}",
                        p.name,
                        text_of(l),
                        l.status,
                        text_of(r),
                        r.status
                    ));
                }
            }
        }
        for rc in p.d().rejected().unwrap() {
            problems.push(format!("{}: a change was refused: {:?}", p.name, rc));
        }
    }
    assert!(problems.is_empty(), "seed {seed} (GRIDWORK_FAULT_SEED={seed} GRIDWORK_FAULT_SESSIONS=1):\n{}", problems.join("\n"));
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_sessions_through_faults_lose_and_double_nothing() {
    let sessions = env_u64("GRIDWORK_FAULT_SESSIONS", 100);
    let first_seed = env_u64("GRIDWORK_FAULT_SEED", 0x6772_6964);
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let auditor = logged_in(dir.path(), "auditor", &server.url, "admin").await;
    auditor.sync().await.unwrap();
    let officer_id = auditor
        .users(Some(Role::Officer))
        .unwrap()
        .into_iter()
        .find(|u| u.username == "officer.kuiwen")
        .expect("officer.kuiwen")
        .id;
    let mut tally = Tally::default();
    let proxy = FaultProxy::start(server.addr, first_seed, 0).await;
    let mut phones = phones(dir.path(), &proxy.url).await;
    for n in 0..sessions {
        let seed = first_seed.wrapping_add(n);
        let mut rng = Rng::new(seed);
        proxy.reseed(rng.next_u64(), 15 + rng.below(25));
        let session_dir = dir.path().join(format!("s{n}"));
        std::fs::create_dir_all(&session_dir).unwrap();
        let since = chrono::Utc::now() - chrono::Duration::minutes(1);
        let mut s =
            Session { rng, tag: format!("[F{seed:x}]"), dir: session_dir.clone(), proxy: &proxy, officer_id: officer_id.clone() };
        let exp = run_session(&mut s, &mut phones, &mut server, &mut tally).await;
        settle(&s, &phones, &mut tally).await;
        audit(seed, &auditor, &phones, &exp, &s.tag, since, &mut tally).await;
        tally.sessions += 1;
        let _ = std::fs::remove_dir_all(&session_dir);
        if n == 0 || (n + 1) % 25 == 0 {
            eprintln!("faults: {} sessions, {:.0} s; {}", n + 1, started.elapsed().as_secs_f64(), proxy.counts().summary());
        }
    }
    eprintln!("faults: tally {tally:?} in {:.0} s", started.elapsed().as_secs_f64());
    assert_eq!((tally.lost, tally.duplicated, tally.diverged), (0, 0, 0));
    assert!(tally.server_kills > 0 && tally.device_kills > 0, "the faults happened: {tally:?}");
}
