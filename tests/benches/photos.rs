//! Photo benchmark, printing medians (run: `cargo bench -p gridwork-e2e --bench photos`):
//!   - ingest time per 12-megapixel photo (EXIF, downscale, re-encode, thumbnail, store)
//!   - upload throughput on loopback against a real server process
//!   - peak memory of a device process (the `gridwork-device` binary) while it uploads
//!     200 photos of about 200 KB and one of about 20 MB (aim: under 64 MB)
//!
//! Aims (BENCHMARKS.md): ingest of a 12-megapixel JPEG in 250 ms or less, its output no
//! larger than before (606 KB for this sample with image's encoder); upload on loopback at
//! 40 MB/s or more, with the device's memory flat (one chunk per photo in flight).

use gridwork_core::photos::PhotoFiles;
use gridwork_core::photos::ingest::{self, IngestOptions};
use gridwork_core::photos::sample::{SampleExif, sample_jpeg};
use gridwork_core::store::{Store, photos};
use gridwork_e2e::*;
use sha2::{Digest, Sha256};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        ingest_12mp();
        upload_throughput().await;
        upload_memory().await;
    });
}

fn ingest_12mp() {
    let dir = tempfile::tempdir().unwrap();
    let store = PhotoFiles::open(dir.path().join("p")).unwrap();
    let mut times = Vec::new();
    let mut sizes = (0, 0);
    for seed in 0..7 {
        let input = sample_jpeg(4000, 3000, 92, seed + 1, Some(&SampleExif::default()));
        let t = Instant::now();
        let got = ingest::process(&input, &store, &IngestOptions::default()).unwrap();
        times.push(t.elapsed());
        sizes = (input.len(), got.bytes as usize);
    }
    let runs = times.len();
    println!(
        "ingest of a 12 MP photo (4000x3000, {} KB in, {} KB out at 2048 px): median {:.0} ms of {runs} (aim <= 250 ms, output <= 606 KB)",
        sizes.0 / 1024,
        sizes.1 / 1024,
        median(times).as_secs_f64() * 1000.0
    );
}

async fn upload_throughput() {
    let mut rates = Vec::new();
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("server"));
        let dev = logged_in(dir.path(), "worker", &server.url, "grid.kw01").await;
        let r = dev.create(report(&dev, KW_GRID, "照片上传测速")).unwrap();
        dev.set_network(gridwork_core::photos::Network::Metered);
        dev.set_photo_policy(gridwork_core::photos::PhotoPolicy::UnmeteredOnly).unwrap();
        for i in 0..9 {
            let f = dir.path().join(format!("{i}.jpg"));
            std::fs::write(&f, sample_jpeg(4000, 3000, 92, 1000 * round + i + 1, None)).unwrap();
            dev.attach_photo(r.id, &f, None).unwrap();
        }
        dev.sync().await.unwrap();
        let (_, bytes) = dev.photo_queue().unwrap();
        let t = Instant::now();
        let rep = dev.upload_photos().await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(rep.photos_uploaded, 9);
        rates.push((bytes as f64 / secs / 1e6, bytes));
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mid = rates[rates.len() / 2];
    println!(
        "upload on loopback: median {:.1} MB/s of {} runs (9 photos, {:.1} MB per run, {} KiB chunks, {} photos in flight; aim >= 40 MB/s)",
        mid.0,
        rates.len(),
        mid.1 as f64 / 1e6,
        gridwork_core::photos::upload::CHUNK_BYTES / 1024,
        gridwork_core::photos::upload::PARALLEL_UPLOADS
    );
}

async fn upload_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server"));
    let db = dir.path().join("phone.db");
    let mut small_total = 0u64;
    {
        let dev = logged_in(dir.path(), "phone", &server.url, "grid.kw01").await;
        for i in 0..200u32 {
            let r = dev.create(report(&dev, KW_GRID, &format!("第{i}处问题"))).unwrap();
            let f = dir.path().join(format!("s{i}.jpg"));
            std::fs::write(&f, sample_jpeg(760, 570, 90, 5000 + i, None)).unwrap();
            small_total += dev.attach_photo(r.id, &f, None).unwrap().bytes;
        }
    }
    // One 20 MB photo, as an "original quality" camera file would be (ingest keeps phones'
    // photos far smaller, so it is put into the store directly).
    let big = {
        let mut q = 97;
        loop {
            let b = sample_jpeg(5200, 3900, q, 77, None);
            if b.len() as u64 <= gridwork_core::protocol::DEFAULT_MAX_PHOTO_BYTES || q < 60 {
                break b;
            }
            q -= 3;
        }
    };
    let sha = hex::encode(Sha256::digest(&big));
    PhotoFiles::open(db.with_extension("photos")).unwrap().put(&sha, &big, None).unwrap();
    let store = Store::open(&db, None).unwrap();
    store.write(|tx| photos::add_local(tx, &sha, "image/jpeg", big.len() as u64, chrono::Utc::now())).unwrap();
    drop(store);
    drop(big);

    let bin = device_bin();
    let t = Instant::now();
    let out = Command::new(&bin)
        .args(["--db"])
        .arg(&db)
        .args(["--server", &server.url, "--peak-memory", "sync"])
        .output()
        .expect("run gridwork-device");
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr.lines().find_map(|l| l.strip_prefix("peak memory ")).unwrap_or("?");
    println!(
        "device process uploading 200 photos ({:.1} MB) and one of {:.1} MB: peak memory {} (aim < 64 MB, flat: 19.8 MB before), {:.1} s; {}",
        small_total as f64 / 1e6,
        std::fs::metadata(PhotoFiles::open(db.with_extension("photos")).unwrap().path(&sha)).map(|m| m.len()).unwrap_or(0) as f64
            / 1e6,
        peak,
        secs,
        stdout.trim()
    );
}
