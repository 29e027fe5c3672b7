//! Signed evidence end to end: an officer's real device registers its key at sign-in and
//! signs every op it pushes; the server keeps the signatures; `gridwork-server evidence
//! verify`, run on the data directory with the server stopped, finds the notice exactly as
//! the device signed it. A fact changed in the database, a photo file swapped on disk and a
//! kept op rewritten are each caught, and nothing else is blamed.

use gridwork_core::photos::sample::{SampleExif, sample_jpeg};
use gridwork_core::protocol::{BodyPatch, NoticePatch, RecordPatch};
use gridwork_e2e::*;
use std::process::Command;

/// `evidence verify` on the server's data for `id`: (succeeded, stdout).
fn verify(server: &Server, id: &str) -> (bool, String) {
    let out = server
        .command(&["evidence", "verify"])
        .arg(id)
        .env("GRIDWORK_LOG", "warn")
        .output()
        .expect("run gridwork-server evidence verify");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn line_of<'a>(out: &'a str, field: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(&format!("{field}\t"))).unwrap_or_else(|| panic!("no line for {field} in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_what_the_officer_signed_and_tampering_is_caught() {
    if skipped_on_postgres("tampering with the database file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("server"));
    let officer = logged_in(dir.path(), "officer", &server.url, "officer.kuiwen").await;
    let key = officer.device_key().expect("the device's key");
    assert_eq!(key.len(), 64, "{key}");

    // Issued offline with a photo, the facts amended, then synced (photo uploaded).
    let issued = officer.create(notice(&officer, KW_GRID)).unwrap();
    let photo = dir.path().join("IMG_0001.jpg");
    std::fs::write(&photo, sample_jpeg(1600, 1200, 90, 7, Some(&SampleExif::default()))).unwrap();
    let photo_ref = officer.attach_photo(issued.id, &photo, None).unwrap();
    let patch = RecordPatch {
        body: Some(BodyPatch::Notice(NoticePatch {
            facts: Some("店外占用人行道摆放水果约3平方米".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    officer.update(issued.id, patch).unwrap();
    let report = officer.sync().await.unwrap();
    assert_eq!(report.rejected, 0, "{:?}", officer.rejected().unwrap());
    assert_eq!(officer.photo_queue().unwrap().0, 0, "the photo is uploaded");
    let id = issued.id.to_string();
    let data = server.data_dir().to_path_buf();
    server.stop();

    let (ok, out) = verify(&server, &id);
    assert!(ok, "{out}");
    assert!(out.contains("intact, fully signed"), "{out}");
    for field in ["facts", "party", "number", "photos", "location", "deadline", "legal_basis", "category"] {
        let line = line_of(&out, field);
        assert!(line.contains("\tsigned\t"), "{line}");
    }
    assert!(out.contains(&format!("photo {}\tintact", photo_ref.sha256)), "{out}");
    assert!(!out.contains("张某") && !out.contains("13805361234"), "no personal data in the report:\n{out}");

    // The evidence bundle, checked with nothing but the file and the photos.
    let stores = gridwork_server::open_store(data.clone()).await.unwrap();
    let (stored, ops) = stores.records.evidence(issued.id).await.unwrap().expect("the notice");
    stores.close().await.unwrap();
    let bundle = dir.path().join("bundle.json");
    std::fs::write(&bundle, serde_json::to_vec(&gridwork_core::evidence::EvidenceBundle::new(stored, ops)).unwrap()).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(server_bin()).args(["evidence", "verify"]).args(args).output().expect("run");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let blobs = data.join("blobs");
    let (ok, out) = run(&["--bundle".as_ref(), bundle.as_os_str(), "--photo-dir".as_ref(), blobs.as_os_str()]);
    assert!(ok && out.contains("intact, fully signed"), "{out}");
    let (ok, out) = run(&["--bundle".as_ref(), bundle.as_os_str()]);
    assert!(ok && out.contains("not_checked") && out.contains("partly"), "no photos given: not checked:\n{out}");
    let elsewhere = dir.path().join("photos");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join(format!("{}.jpg", photo_ref.sha256)), sample_jpeg(800, 600, 90, 9, None)).unwrap();
    let (ok, out) = run(&["--bundle".as_ref(), bundle.as_os_str(), "--photo-dir".as_ref(), elsewhere.as_os_str()]);
    assert!(!ok && out.contains(&format!("photo {}\taltered", photo_ref.sha256)), "{out}");

    let db = rusqlite::Connection::open(data.join("gridwork.db")).unwrap();
    let doc: String = db.query_row("SELECT doc FROM records WHERE id = ?1", [&id], |r| r.get(0)).unwrap();

    // 1. A fact changed in the database after the sync.
    db.execute("UPDATE records SET doc = json_set(doc, '$.body.notice.facts', '店外未占道') WHERE id = ?1", [&id]).unwrap();
    let (ok, out) = verify(&server, &id);
    assert!(!ok, "a changed fact must fail the check:\n{out}");
    assert!(line_of(&out, "facts").contains("\taltered\t"), "{out}");
    assert!(line_of(&out, "party").contains("\tsigned\t"), "only the changed field is blamed:\n{out}");
    db.execute("UPDATE records SET doc = ?2 WHERE id = ?1", [&id, &doc]).unwrap();
    assert!(verify(&server, &id).0, "restored");

    // 2. The evidence photo's file swapped for another picture.
    let file = data.join("blobs").join("photos").join(&photo_ref.sha256[..2]).join(&photo_ref.sha256);
    let original = std::fs::read(&file).expect("the stored photo");
    std::fs::write(&file, sample_jpeg(1600, 1200, 90, 8, None)).unwrap();
    let (ok, out) = verify(&server, &id);
    assert!(!ok, "a swapped photo must fail the check:\n{out}");
    assert!(out.contains(&format!("photo {}\taltered", photo_ref.sha256)), "{out}");
    std::fs::write(&file, &original).unwrap();

    // 3. A kept op rewritten (the record changed to match it): its signature no longer holds.
    let forged = "店外未占道";
    db.execute(
        "UPDATE applied_ops SET evidence = json_set(evidence, '$.op.action.update.body.notice.facts', ?2)
         WHERE record_id = ?1 AND json_extract(evidence, '$.op.action.update') IS NOT NULL",
        [&id, forged],
    )
    .unwrap();
    db.execute("UPDATE records SET doc = json_set(doc, '$.body.notice.facts', ?2) WHERE id = ?1", [&id, forged]).unwrap();
    let (ok, out) = verify(&server, &id);
    assert!(!ok, "a rewritten op must fail the check:\n{out}");
    assert!(line_of(&out, "facts").contains("\tbad_signature\t"), "{out}");
    assert!(out.contains("bad_signature\t"), "{out}");

    // Not a record: a clear error, not a crash.
    let (ok, _) = verify(&server, "not-a-uuid");
    assert!(!ok);
}

/// A key the app keeps (the platform key store on a phone): in memory here, and a flag
/// that makes it fail.
struct AppKeys {
    key: ed25519_dalek::SigningKey,
    broken: std::sync::atomic::AtomicBool,
}

impl gridwork_core::signer::KeyStore for AppKeys {
    fn public_key(&self) -> gridwork_core::Result<Vec<u8>> {
        self.check()?;
        Ok(self.key.verifying_key().to_bytes().to_vec())
    }
    fn sign(&self, message: &[u8]) -> gridwork_core::Result<Vec<u8>> {
        use ed25519_dalek::Signer;
        self.check()?;
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}

impl AppKeys {
    fn check(&self) -> gridwork_core::Result<()> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(gridwork_core::Error::KeyStore("密钥库不可用 (key_store)".into()));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_key_store_signs_and_a_failing_one_sends_nothing_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let keys = std::sync::Arc::new(AppKeys {
        key: ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]),
        broken: std::sync::atomic::AtomicBool::new(true),
    });
    let officer = device(dir.path(), "officer", &server.url);
    officer.set_key_store(keys.clone());
    // The key store fails: no sign-in (the key could not be registered).
    assert!(matches!(officer.login("officer.kuiwen", PASSWORD).await, Err(gridwork_core::Error::KeyStore(_))));
    keys.broken.store(false, std::sync::atomic::Ordering::SeqCst);
    officer.login("officer.kuiwen", PASSWORD).await.unwrap();
    assert_eq!(officer.device_key().unwrap(), gridwork_core::evidence::encode_key(&keys.key.verifying_key()));

    let issued = officer.create(notice(&officer, KW_GRID)).unwrap();
    // Fails while signing: nothing goes out, the notice waits.
    keys.broken.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(officer.sync().await, Err(gridwork_core::Error::KeyStore(_))));
    assert_eq!(officer.pending_count().unwrap(), 1);
    keys.broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = officer.sync().await.unwrap();
    assert_eq!((report.accepted, report.rejected), (1, 0), "{:?}", officer.rejected().unwrap());

    let (ok, out) = verify(&server, &issued.id.to_string());
    assert!(ok && out.contains("intact, fully signed"), "{out}");
}
