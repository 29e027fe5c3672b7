//! Duplicate-hint benchmark, printing medians (run: `cargo bench -p gridwork-e2e --bench hints`):
//! the open reports and cases of a category within 50 m in the last 7 days, on a device
//! store holding 100,000 records (reports and cases of a few categories spread over the
//! demo city's built-up area, a year of dates). Aim: under 20 ms.

use chrono::{Duration, Utc};
use gridwork_core::fixtures;
use gridwork_core::model::{RecordBody, Status};
use gridwork_core::store::{Store, nearby, records};
use std::time::Instant;

const RECORDS: u64 = 100_000;
const CATEGORIES: [&str; 5] = ["09006", "06036", "01001", "05014", "09008"];

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db"), None).unwrap();
    let base = fixtures::records().remove(0);
    let now = Utc::now();
    // A deterministic spread: about 12 km x 12 km around 奎文区, a year back.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t = Instant::now();
    for chunk in 0..(RECORDS / 10_000) {
        store
            .write(|tx| {
                for i in 0..10_000u64 {
                    let mut r = base.clone();
                    r.id = uuid::Uuid::from_u128(u128::from(chunk * 10_000 + i) + 1);
                    r.location.lat = 36.65 + (next() % 110_000) as f64 * 1e-6;
                    r.location.lon = 119.10 + (next() % 130_000) as f64 * 1e-6;
                    r.created_at = now - Duration::minutes((next() % (365 * 24 * 60)) as i64);
                    r.status = if next() % 3 == 0 { Status::Closed } else { Status::Submitted };
                    if let RecordBody::Report(b) = &mut r.body {
                        b.category = CATEGORIES[(next() % 5) as usize].into();
                    }
                    records::insert_local(tx, &r)?;
                }
                Ok(())
            })
            .unwrap();
    }
    println!("filled {RECORDS} records in {:.1} s", t.elapsed().as_secs_f64());
    let since = now - Duration::days(nearby::DAYS);
    let mut times = Vec::new();
    let mut found = 0;
    for k in 0..200u64 {
        let lat = 36.65 + (k * 547 % 110_000) as f64 * 1e-6 * 1.0;
        let lon = 119.10 + (k * 6151 % 130_000) as f64 * 1e-6;
        let cat = CATEGORIES[(k % 5) as usize];
        let t = Instant::now();
        let hints = store.read(|c| nearby::open_near(c, cat, lat, lon, nearby::RADIUS_M, since, nearby::MAX_HINTS)).unwrap();
        times.push(t.elapsed());
        found += hints.len();
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "duplicate hints on {RECORDS} records: median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({} queries, {found} hints)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        ms(times[times.len() - 1]),
        times.len()
    );
}
