//! Personal data retention end to end, with the shipped server: an officer's phone issues
//! notices to two parties, one is rectified, and the server's clock moves past the city's
//! retention (30 days by default). After the next sync the rectified notice's party (name,
//! shop, phone) is nowhere in the phone's database file or its write-ahead log, neither in
//! the record nor in the ops it pushed; lists show 已清除; a pull that brings the record
//! back does not restore it; the open notice keeps its party; and the server still has it
//! (a personal export by an admin), while devices only get the marker.

use chrono::Duration;
use gridwork_core::Device;
use gridwork_core::model::{Party, RecordBody, RecordKind, Status};
use gridwork_core::protocol::{PullResponse, RecordPatch, paths};
use gridwork_core::store::meta;
use gridwork_core::store::records::RecordQuery;
use gridwork_e2e::*;
use std::path::Path;

const NAME: &str = "慕容复兴";
const SHOP: &str = "复兴鲜果行";
const PHONE: &str = "13912340077";
const OTHER_PHONE: &str = "13912340088";

/// Does the device's database (file and write-ahead log) hold `needle` anywhere?
fn on_disk(db: &Path, needle: &str) -> bool {
    let mut bytes = std::fs::read(db).expect("read the database file");
    for ext in ["db-wal", "db-journal"] {
        bytes.extend(std::fs::read(db.with_extension(ext)).unwrap_or_default());
    }
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn party_of(d: &Device, id: uuid::Uuid) -> (Status, Party) {
    let rec = d.get(id).unwrap().expect("the device has it").record.record;
    match rec.body {
        RecordBody::Notice(n) => (rec.status, n.party),
        other => panic!("not a notice: {other:?}"),
    }
}

fn listed_party(d: &Device, id: uuid::Uuid) -> Party {
    let q = RecordQuery { kind: Some(RecordKind::Notice), limit: Some(1000), ..Default::default() };
    let rec = d.list(&q).unwrap().into_iter().find(|r| r.record.id == id).expect("listed").record;
    match rec.body {
        RecordBody::Notice(n) => n.party,
        other => panic!("not a notice: {other:?}"),
    }
}

async fn get(server: &Server, d: &Device, path: &str) -> reqwest::Response {
    let session = d.context().session().unwrap();
    reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(&session.token)
        .header(gridwork_core::protocol::DEVICE_HEADER, d.device_id().to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_notices_party_leaves_the_officers_phone_after_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    // Unencrypted, so that the file's bytes can be searched.
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let db = dir.path().join("officer.db");
    officer.sync().await.unwrap();

    // Two notices to the party; the first is put right the next day, the second is not.
    let draft = || {
        let mut d = notice(&officer, KW_GRID);
        if let RecordBody::Notice(n) = &mut d.body {
            n.party = Party::new(NAME, Some(SHOP.into()), Some(PHONE.into()));
        }
        d
    };
    let closed = officer.create(draft()).unwrap();
    let mut second = draft();
    if let RecordBody::Notice(n) = &mut second.body {
        n.party = Party::new("上官明月", Some("明月小吃".into()), Some(OTHER_PHONE.into()));
    }
    let open = officer.create(second).unwrap();
    officer.sync().await.unwrap();
    officer.update(closed.id, RecordPatch { status: Some(Status::Rectified), ..Default::default() }).unwrap();
    assert_eq!(officer.sync().await.unwrap().rejected, 0, "{:?}", officer.rejected().unwrap());
    assert_eq!(officer.pending_count().unwrap(), 0);
    assert_eq!(party_of(&officer, closed.id), (Status::Rectified, Party::new(NAME, Some(SHOP.into()), Some(PHONE.into()))));
    // Lists mask, the record's page shows it whole.
    let listed = listed_party(&officer, closed.id);
    assert_eq!((listed.name.as_str(), listed.phone.as_deref()), ("慕***", Some("139****0077")));
    assert!(on_disk(&db, PHONE) && on_disk(&db, NAME), "the phone keeps the party while the retention runs");
    let seen = get(&server, &officer, &format!("{}?since=0&limit=2000", paths::PULL)).await;
    assert_eq!(seen.json::<PullResponse>().await.unwrap().party_retention_days, Some(30), "the server's setting");

    // 31 days on: the server marks the open notice overdue by itself (its clock is the
    // time the phone's clock sees in the next syncs), and the phone purges the closed one.
    server.set_clock_offset(Duration::days(31).num_seconds());
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while party_of(&officer, open.id).0 != Status::Overdue && std::time::Instant::now() < give_up {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        officer.sync().await.unwrap();
    }
    assert_eq!(party_of(&officer, open.id).0, Status::Overdue, "marked overdue by the server");
    assert_eq!(party_of(&officer, closed.id), (Status::Rectified, Party::removed()));
    let listed = listed_party(&officer, closed.id);
    assert!(listed.purged && listed.name == "已清除");
    // The open notice keeps its party (overdue is not closed).
    assert_eq!(party_of(&officer, open.id).1.phone.as_deref(), Some(OTHER_PHONE));
    // The ops it pushed no longer carry it, and its history still reads.
    let detail = officer.get(closed.id).unwrap().unwrap();
    assert_eq!(detail.history.iter().filter(|h| matches!(h, gridwork_core::store::history::HistoryEntry::Local(_))).count(), 2);
    let in_outbox: i64 = officer
        .context()
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE record_id = ?1 AND (op LIKE ?2 OR op LIKE ?3 OR op LIKE ?4)",
                [closed.id.to_string(), format!("%{NAME}%"), format!("%{PHONE}%"), format!("%{SHOP}%")],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(in_outbox, 0);
    for value in [NAME, SHOP, PHONE] {
        assert!(!on_disk(&db, value), "{value} is still in the phone's database file");
    }
    assert!(on_disk(&db, OTHER_PHONE), "the open notice's party is still there");

    // Devices get the marker from now on: a pull from the start brings the record back
    // without its party, and the phone stores that as it is.
    let page: PullResponse = get(&server, &officer, &format!("{}?since=0&limit=2000", paths::PULL)).await.json().await.unwrap();
    let again = page.records.iter().find(|r| r.id == closed.id).expect("pulled again");
    assert!(matches!(&again.body, RecordBody::Notice(n) if n.party == Party::removed()));
    officer.context().store.write(|tx| meta::set(tx, meta::CURSOR, "0")).unwrap();
    officer.sync().await.unwrap();
    assert_eq!(party_of(&officer, closed.id).1, Party::removed());
    for value in [NAME, SHOP, PHONE] {
        assert!(!on_disk(&db, value), "{value} came back with the pull");
    }

    // Reopened, the phone does not bring anything back either.
    drop(officer);
    let officer = device(dir.path(), "officer", &server.url);
    assert_eq!(party_of(&officer, closed.id).1, Party::removed());

    // The server keeps it: an admin's personal export has it; an admin's phone does not.
    let admin = logged_in(dir.path(), "admin", &server.url, "admin").await;
    admin.sync().await.unwrap();
    assert_eq!(party_of(&admin, closed.id).1, Party::removed(), "no device gets it");
    let csv = get(&server, &admin, "/v1/exports/records.csv?kind=notice&personal=true").await.text().await.unwrap();
    assert!(csv.contains(PHONE) && csv.contains(NAME) && csv.contains(SHOP), "the server still has the party");
}
