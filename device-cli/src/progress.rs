//! The progress of a long sync and of photo uploads, from the same listener the apps use:
//! a bar redrawn in place on a terminal, plain lines (one per step worth telling) when the
//! output is a file or a pipe. Written to stderr, so stdout stays the command's answer.

use gridwork_core::events::{SyncObserver, SyncPhase, SyncProgress};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

const BAR: usize = 24;

pub struct Progress {
    terminal: bool,
    /// What was last told, to write plain lines only when something new happened.
    last: Mutex<Option<String>>,
}

impl Progress {
    pub fn to_stderr() -> Progress {
        Progress { terminal: std::io::stderr().is_terminal(), last: Mutex::new(None) }
    }

    /// End the bar's line (a terminal only).
    pub fn finish(&self) {
        if self.terminal && self.last.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            eprintln!();
        }
    }
}

fn bar(done: u64, total: u64) -> String {
    let filled = if total == 0 { 0 } else { (done.min(total) as usize * BAR) / total as usize };
    format!("[{}{}]", "#".repeat(filled), " ".repeat(BAR - filled))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// The line for a step: what a person wants to read, Chinese first.
pub fn describe(p: &SyncProgress) -> String {
    match p.phase {
        SyncPhase::Pushing => format!("推送 pushing {} {}/{}", bar(p.pushed, p.push_total), p.pushed, p.push_total),
        SyncPhase::Pulling => format!("拉取 pulling {} 条 records", p.pulled),
        SyncPhase::Reference => "更新基础数据 reference data".to_owned(),
        SyncPhase::UploadingPhotos => format!(
            "上传照片 photos {} {}/{} ({} / {})",
            bar(p.photo_bytes_done, p.photo_bytes_total),
            p.photos_done,
            p.photos_total,
            mib(p.photo_bytes_done),
            mib(p.photo_bytes_total)
        ),
        SyncPhase::Done => format!("完成 done: pushed {}, pulled {}", p.pushed, p.pulled),
    }
}

impl SyncObserver for Progress {
    fn on_progress(&self, p: &SyncProgress) {
        let line = describe(p);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else if last.as_deref() != Some(line.as_str()) {
            // Plain lines: one per phase and per finished batch, page or photo.
            let _ = writeln!(err, "{line}");
        }
        *last = Some(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_what_is_done_of_what() {
        let p = SyncProgress { phase: SyncPhase::Pushing, pushed: 250, push_total: 1000, ..Default::default() };
        assert_eq!(describe(&p), format!("推送 pushing [{}{}] 250/1000", "#".repeat(6), " ".repeat(18)));
        let p = SyncProgress {
            phase: SyncPhase::UploadingPhotos,
            photos_done: 1,
            photos_total: 2,
            photo_bytes_done: 1024 * 1024,
            photo_bytes_total: 2 * 1024 * 1024,
            ..Default::default()
        };
        assert!(describe(&p).ends_with("1/2 (1.0 MB / 2.0 MB)"), "{}", describe(&p));
        assert_eq!(bar(5, 0), format!("[{}]", " ".repeat(BAR)));
    }
}
