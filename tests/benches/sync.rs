//! Benchmark of the spine, printing medians (run: `cargo bench -p gridwork-e2e`).
//!   - one local notice create, next to a bare SQLite insert-and-commit of the same row
//!   - push of 10,000 notices (~500 B each), the pusher's pull of them back (as digests),
//!     and pull of 10,000 into a fresh device, on loopback against a real server process:
//!     records/s, wire bytes per record, and each time next to its floor, a bare SQLite
//!     insert of the same 10,000 documents in one transaction
//!   - a sync with nothing to do, on devices holding 10,000 and 100,000 records
//!
//! The machine is noisy: medians over repeated runs, and ratios next to the raw numbers.

use gridwork_core::model::Record;
use gridwork_core::store::{Store, records};
use gridwork_e2e::*;
use std::time::{Duration, Instant};

/// A notice that differs from the others the way real ones do: party, shop, street,
/// position, facts, deadline.
fn varied_notice(dev: &gridwork_core::Device, i: usize) -> gridwork_core::Draft {
    const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"];
    const SHOPS: &[&str] = &["水果店", "烧烤店", "五金店", "便利店", "早餐铺", "理发店", "修车铺", "面馆", "服装店", "药店"];
    const STREETS: &[&str] =
        &["胜利东街", "东风东街", "健康东街", "新华路", "北海路", "四平路", "虞河路", "福寿东街", "鸢飞路", "文化路"];
    const FACTS: &[&str] = &[
        "店外占用人行道摆放商品",
        "门前堆放杂物未清理",
        "沿街晾晒衣物",
        "占道烧烤油烟扰民",
        "违规张贴小广告",
        "门前垃圾未及时清理",
    ];
    const CATS: &[&str] = &["QL-STALL", "QL-PILE", "QL-HANG", "QL-POST", "MQWB", "09006", "06036"];
    let mut d = notice(dev, KW_GRID);
    d.location.lat += (i % 997) as f64 * 1e-5;
    d.location.lon -= (i % 991) as f64 * 1e-5;
    d.location.address = Some(format!("潍坊市奎文区{}{}号", STREETS[i % STREETS.len()], 1 + i % 300));
    if let gridwork_core::model::RecordBody::Notice(n) = &mut d.body {
        n.party.name = format!("{}某{}", SURNAMES[i % SURNAMES.len()], ["", "甲", "乙", "丙"][i % 4]);
        n.party.shop_name =
            Some(format!("{}{}{}", STREETS[(i / 7) % STREETS.len()], ["老", "新", "鑫", "福"][i % 4], SHOPS[i % SHOPS.len()]));
        n.party.phone = Some(format!("13{}{:08}", 5 + i % 5, (i as u64 * 7_919_993) % 100_000_000));
        n.category = CATS[i % CATS.len()].into();
        n.facts = format!("{}，约{}平方米，经劝导未改正", FACTS[i % FACTS.len()], 2 + i % 17);
        n.deadline = chrono::Utc::now().date_naive() + chrono::Days::new(1 + (i % 7) as u64);
    }
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const ROUNDS: usize = 3;
const N: usize = 10_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // `GRIDWORK_BENCH_ONLY=create|sync|idle` runs one part (while profiling one).
    let only = std::env::var("GRIDWORK_BENCH_ONLY").ok();
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    rt.block_on(async {
        if run("create") {
            local_create().await;
        }
        if run("sync") {
            push_and_pull().await;
        }
        if run("idle") {
            idle_sync().await;
        }
    });
}

async fn local_create() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let dev = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    take_numbers(&server.url, &dev, 1001).await;
    // The floor: the same row into a same-shaped table, same pragmas, one transaction each.
    let bare = bare_db(&dir.path().join("bare.db"));
    let sample = dev.create(notice(&dev, KW_GRID)).unwrap();
    let doc = serde_json::to_string(&sample).unwrap();
    let (mut t_create, mut t_bare) = (Vec::new(), Vec::new());
    for i in 0..1000 {
        let draft = varied_notice(&dev, i);
        let t = Instant::now();
        dev.create(draft).unwrap();
        t_create.push(t.elapsed());
        let t = Instant::now();
        let mut stmt = bare.prepare_cached("INSERT INTO records(id, kind, author, status, grid, created_at, updated_at, doc) VALUES (?1, 'notice', ?2, 'issued', ?3, ?4, ?4, ?5)").unwrap();
        bare.execute_batch("BEGIN IMMEDIATE").unwrap();
        stmt.execute(rusqlite::params![format!("{i}"), sample.author, KW_GRID, sample.created_at.to_rfc3339(), doc]).unwrap();
        bare.execute_batch("COMMIT").unwrap();
        t_bare.push(t.elapsed());
    }
    let (c, b) = (median(t_create), median(t_bare));
    println!(
        "local create, notice ({} B JSON): median {:.3} ms; bare insert+commit: median {:.3} ms; ratio {:.2}x (aim <= 2x)",
        doc.len(),
        ms(c),
        ms(b),
        c.as_secs_f64() / b.as_secs_f64()
    );
}

/// The floor's database: a table shaped as the device's records, with the device store's
/// pragmas (WAL, synchronous FULL).
fn bare_db(path: &std::path::Path) -> rusqlite::Connection {
    let bare = rusqlite::Connection::open(path).unwrap();
    bare.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).unwrap();
    bare.pragma_update(None, "synchronous", "FULL").unwrap();
    bare.execute_batch(
        "CREATE TABLE records (id TEXT PRIMARY KEY, kind TEXT, author TEXT, status TEXT, grid TEXT,
         created_at TEXT, updated_at TEXT, doc TEXT NOT NULL, server_doc TEXT, seq INTEGER)",
    )
    .unwrap();
    bare
}

/// The floor of a sync of `docs`: a bare insert of the same documents into a same-shaped
/// table ([`bare_db`]) in one transaction.
fn bare_insert(path: &std::path::Path, docs: &[(String, String)]) -> Duration {
    let bare = bare_db(path);
    let t = Instant::now();
    bare.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt =
            bare.prepare("INSERT INTO records(id, kind, status, grid, doc) VALUES (?1, 'notice', 'issued', ?2, ?3)").unwrap();
        for (id, doc) in docs {
            stmt.execute(rusqlite::params![id, KW_GRID, doc]).unwrap();
        }
    }
    bare.execute_batch("COMMIT").unwrap();
    t.elapsed()
}

async fn push_and_pull() {
    let (mut push_t, mut own_t, mut pull_t, mut floor_t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sent_per, mut own_per, mut recv_per, mut json_per) = (0.0, 0.0, 0.0, 0.0);
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("server"));
        let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
        officer.pull().await.unwrap(); // the demo city, as a phone in use has it
        take_numbers(&server.url, &officer, N as u64).await;
        let mut docs = Vec::with_capacity(N);
        for i in 0..N {
            let r = officer.create(varied_notice(&officer, i)).unwrap();
            docs.push((r.id.to_string(), serde_json::to_string(&r).unwrap()));
        }
        floor_t.push(bare_insert(&dir.path().join(format!("bare{round}.db")), &docs));
        let t = Instant::now();
        let rep = officer.push().await.unwrap();
        push_t.push(t.elapsed());
        assert_eq!(rep.accepted as usize, N);
        sent_per = rep.bytes_sent as f64 / N as f64;
        json_per = docs.iter().map(|(_, d)| d.len()).sum::<usize>() as f64 / N as f64;

        // The pusher's own records come back as digests and are rebuilt from its outbox.
        let t = Instant::now();
        let rep = officer.pull().await.unwrap();
        own_t.push(t.elapsed());
        assert_eq!(rep.pulled as usize, N);
        own_per = rep.bytes_received as f64 / N as f64;

        let fresh = logged_in(dir.path(), "fresh", &server.url, "officer.kuiwen2").await;
        let t = Instant::now();
        let rep = fresh.pull().await.unwrap();
        pull_t.push(t.elapsed());
        assert!(rep.pulled as usize >= N);
        recv_per = rep.bytes_received as f64 / rep.pulled as f64;
    }
    let (p, o, q, f) = (median(push_t), median(own_t), median(pull_t), median(floor_t));
    let x = |d: Duration| d.as_secs_f64() / f.as_secs_f64();
    println!("floor: bare insert of the same {N} documents in one transaction: median {:.3} s", f.as_secs_f64());
    println!(
        "push {N} notices: median {:.3} s = {:.1}x the floor, {:.0} records/s, {:.0} B/record on the wire (record JSON {:.0} B, ratio {:.2}) (aim <= 3x the floor)",
        p.as_secs_f64(),
        x(p),
        N as f64 / p.as_secs_f64(),
        sent_per,
        json_per,
        sent_per / json_per
    );
    println!(
        "pull of its own {N} by the pusher: median {:.3} s = {:.1}x the floor, {:.0} B/record on the wire (as digests)",
        o.as_secs_f64(),
        x(o),
        own_per
    );
    println!(
        "pull {N} into a fresh device: median {:.3} s = {:.1}x the floor, {:.0} records/s, {:.0} B/record on the wire (ratio {:.2}) (aim <= 3x the floor)",
        q.as_secs_f64(),
        x(q),
        N as f64 / q.as_secs_f64(),
        recv_per,
        recv_per / json_per
    );
}

/// Fill a device database with `n` records as if they had been pulled.
fn fill(path: &std::path::Path, n: usize, template: &Record) {
    let store = Store::open(path, None).unwrap();
    for chunk in 0..n.div_ceil(5000) {
        store
            .write(|tx| {
                for i in chunk * 5000..((chunk + 1) * 5000).min(n) {
                    let mut r = template.clone();
                    r.id = uuid::Uuid::now_v7();
                    r.seq = Some(1_000_000 + i as u64);
                    records::save_from_server(tx, &r, &r)?;
                }
                Ok(())
            })
            .unwrap();
    }
}

async fn idle_sync() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let probe = logged_in(dir.path(), "probe", &server.url, "officer.kuiwen").await;
    let template = probe.create(notice(&probe, KW_GRID)).unwrap();
    let mut medians = Vec::new();
    for n in [10_000usize, 100_000] {
        let name = format!("idle{n}");
        fill(&dir.path().join(format!("{name}.db")), n, &template);
        let dev = logged_in(dir.path(), &name, &server.url, "officer.kuiwen").await;
        dev.sync().await.unwrap(); // catch up once
        assert!(dev.record_count().unwrap() as usize >= n);
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let rep = dev.sync().await.unwrap();
            times.push(t.elapsed());
            assert_eq!((rep.round_trips, rep.pulled), (1, 0));
        }
        let m = median(times);
        println!("idle sync, device holding {n} records: median {:.3} ms, 1 round trip", ms(m));
        medians.push(m);
    }
    println!("idle sync 100k / 10k: {:.2}x (aim within 1.2x)", medians[1].as_secs_f64() / medians[0].as_secs_f64());
}
