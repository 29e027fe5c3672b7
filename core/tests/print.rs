//! Printing a notice: the PDFs read back with poppler (`pdftotext`, `pdftoppm`, `pdfinfo`),
//! their QR code decoded by `zbarimg`, the ESC/POS stream parsed command by command.
//!
//! Needs `poppler-utils`, `zbar-tools` and a CJK font (`fonts-wqy-microhei`, or
//! `fonts-noto-cjk`, or `GRIDWORK_CJK_FONT=path[:index]`). Missing tools fail the test when
//! `CI=true`, and skip it (with a message) otherwise.
#![cfg(feature = "print")]

use gridwork_core::fixtures;
use gridwork_core::model::{Record, RecordBody, Role};
use gridwork_core::print::escpos::QrMode;
use gridwork_core::print::{self, FontSource, NoticeSheet, Paper, PrintError, escpos};
use gridwork_core::reference::{RefIndex, UserInfo};
use std::path::{Path, PathBuf};
use std::process::Command;

const SERVER: &str = "https://gridwork.example.cn";

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether the tools are there; on CI a missing one fails the test.
fn have(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| Command::new(t).arg("-v").output().is_err()).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("missing {missing:?}: apt-get install poppler-utils zbar-tools fonts-wqy-microhei");
    assert!(!on_ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// A CJK font of the system (path, face index).
fn cjk_font() -> Option<FontSource> {
    let candidates: Vec<(PathBuf, u32)> = match std::env::var("GRIDWORK_CJK_FONT") {
        Ok(v) => {
            let (p, i) = v.rsplit_once(':').and_then(|(p, i)| Some((p, i.parse().ok()?))).unwrap_or((&v, 0));
            vec![(PathBuf::from(p), i)]
        }
        Err(_) => vec![
            ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".into(), 0),
            ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc".into(), 0),
            // Noto Sans CJK: face 2 is Simplified Chinese.
            ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc".into(), 2),
        ],
    };
    let found = candidates.into_iter().find(|(p, _)| p.exists());
    match found {
        Some((p, index)) => Some(FontSource { data: std::fs::read(p).expect("read font"), index }),
        None => {
            let msg = "no CJK font: apt-get install fonts-wqy-microhei (or set GRIDWORK_CJK_FONT)";
            assert!(!on_ci(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

fn refs() -> RefIndex {
    let mut data = fixtures::reference_data();
    data.users.push(UserInfo {
        id: "u1".into(),
        username: "officer.kuiwen".into(),
        display_name: "王建国".into(),
        role: Role::Officer,
        scope: fixtures::DISTRICT.into(),
    });
    RefIndex::new(&data)
}

fn notice() -> Record {
    let rec = fixtures::records().remove(1);
    assert!(matches!(rec.body, RecordBody::Notice(_)));
    rec
}

fn sheet() -> NoticeSheet {
    NoticeSheet::new(&notice(), &refs(), SERVER).expect("sheet")
}

fn status_url() -> String {
    format!("{SERVER}/public/notices/{}", notice().id)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text `pdftotext` reads from the PDF, without whitespace (lines may break anywhere).
fn pdf_text(pdf: &Path) -> String {
    squeeze(&run(Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(pdf).arg("-")))
}

fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write pdf");
    p
}

fn check_pdf(paper: Paper, expected_width_pt: u32) {
    if !have(&["pdftotext", "pdftoppm", "pdfinfo", "zbarimg"]) {
        return;
    }
    let Some(font) = cjk_font() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = print::pdf::render(&sheet(), paper, &font).expect("render pdf");
    // The font is a subset: far smaller than the font file.
    assert!(bytes.len() < font.data.len() / 4, "{} bytes: the font is not subset", bytes.len());
    let pdf = write_pdf(dir.path(), "notice.pdf", &bytes);

    let info = run(Command::new("pdfinfo").arg(&pdf));
    let size = info.lines().find(|l| l.starts_with("Page size:")).expect("page size");
    assert!(size.contains(&format!("{expected_width_pt}.")) || size.contains(&format!("{expected_width_pt} ")), "{size}");
    assert!(info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(" 1")), "{info}");

    let text = pdf_text(&pdf);
    for want in [
        "不文明行为告知单",
        "奎文城管告字〔2026〕第000001号",
        "当事人：张某",
        "老张水果店",
        "联系电话：138****1234",
        "乱摆摊",
        "店外占用人行道摆放水果",
        "《潍坊市城市市容和环境卫生管理办法》第十六条",
        "2026年11月23日",
        "执法人员：王建国",
        "告知日期：2026年11月20日",
    ] {
        assert!(text.contains(want), "PDF text lacks {want:?}: {text}");
    }
    assert!(!text.contains("13805361234"), "the phone is printed unmasked");
    // Nothing personal in the metadata.
    assert!(!info.contains("张某") && info.contains("第000001号"), "{info}");

    // It renders, and the QR code on the rendering opens the status page.
    let prefix = dir.path().join("page");
    run(Command::new("pdftoppm").args(["-png", "-r", "150"]).arg(&pdf).arg(&prefix));
    let png = dir.path().join("page-1.png");
    assert!(std::fs::metadata(&png).expect("pdftoppm wrote page-1.png").len() > 1000);
    let decoded = run(Command::new("zbarimg").args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"]).arg(&png));
    assert_eq!(decoded.trim(), status_url());
}

#[test]
fn a5_pdf_has_the_notice_and_a_working_qr_code() {
    check_pdf(Paper::A5, 419);
}

#[test]
fn a4_pdf_has_the_notice_and_a_working_qr_code() {
    check_pdf(Paper::A4, 595);
}

#[test]
fn long_facts_flow_onto_a_second_page() {
    if !have(&["pdftotext", "pdfinfo"]) {
        return;
    }
    let Some(font) = cjk_font() else { return };
    let mut s = sheet();
    let facts: String = (1..=60).map(|i| format!("第{i}处：店外占用人行道摆放水果筐，影响行人通行。")).collect();
    s.facts = facts.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = write_pdf(dir.path(), "long.pdf", &print::pdf::render(&s, Paper::A5, &font).expect("render"));
    let info = run(Command::new("pdfinfo").arg(&pdf));
    let pages: u32 = info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).expect("pages");
    assert!(pages >= 2, "{info}");
    let text = pdf_text(&pdf);
    assert!(text.contains(&squeeze(&facts)), "facts lost across pages");
    assert!(text.contains("执法人员：王建国"));
}

#[test]
fn fonts_without_chinese_are_refused() {
    let latin = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if latin.exists() {
        let font = FontSource::new(std::fs::read(latin).expect("read"));
        assert_eq!(print::pdf::render(&sheet(), Paper::A5, &font).unwrap_err(), PrintError::FontLacksCjk);
    }
    let junk = FontSource::new(b"not a font at all".to_vec());
    assert_eq!(print::pdf::render(&sheet(), Paper::A5, &junk).unwrap_err(), PrintError::BadFont);
}

/// What a 58 mm printer does with the stream: text lines (decoded from GB18030) with the
/// width they take, and the commands seen.
#[derive(Default)]
struct Printout {
    lines: Vec<(String, usize)>,
    init: bool,
    chinese: bool,
    cut: bool,
    qr_model2: bool,
    qr_printed: bool,
    qr_data: Option<Vec<u8>>,
    /// A `GS v 0` image: bytes a row, rows, the bits.
    raster: Option<(usize, usize, Vec<u8>)>,
}

fn parse_escpos(b: &[u8]) -> Printout {
    let mut out = Printout::default();
    let mut mult = 1;
    let mut text = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0x1b => match b[i + 1] {
                b'@' => {
                    out.init = true;
                    i += 2;
                }
                b'a' | b'E' | b'd' => i += 3,
                other => panic!("unknown ESC {other:#x} at {i}"),
            },
            0x1c => {
                assert_eq!(b[i + 1], b'&', "unknown FS command at {i}");
                out.chinese = true;
                i += 2;
            }
            0x1d => match b[i + 1] {
                b'!' => {
                    mult = usize::from(b[i + 2] >> 4) + 1;
                    i += 3;
                }
                b'V' => {
                    assert_eq!(b[i + 2], 66);
                    out.cut = true;
                    i += 4;
                }
                b'(' => {
                    assert_eq!(b[i + 2], b'k');
                    let len = usize::from(b[i + 3]) + 256 * usize::from(b[i + 4]);
                    let body = &b[i + 5..i + 5 + len];
                    assert_eq!(body[0], 49, "QR code commands are cn = 49");
                    match body[1] {
                        65 => out.qr_model2 = body[2] == 50,
                        67 | 69 => {}
                        80 => out.qr_data = Some(body[3..].to_vec()),
                        81 => out.qr_printed = out.qr_data.is_some(),
                        f => panic!("unknown QR function {f}"),
                    }
                    i += 5 + len;
                }
                b'v' => {
                    assert_eq!((b[i + 2], b[i + 3]), (b'0', 0), "GS v 0, normal size");
                    let x = usize::from(b[i + 4]) + 256 * usize::from(b[i + 5]);
                    let y = usize::from(b[i + 6]) + 256 * usize::from(b[i + 7]);
                    assert!(x * 8 <= 384, "image wider than the head: {x} bytes");
                    out.raster = Some((x, y, b[i + 8..i + 8 + x * y].to_vec()));
                    i += 8 + x * y;
                }
                other => panic!("unknown GS {other:#x} at {i}"),
            },
            b'\n' => {
                let (s, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(&text);
                assert!(!had_errors, "not GB18030");
                let cols: usize = s.chars().map(escpos::columns).sum();
                out.lines.push((s.into_owned(), cols * mult));
                text.clear();
                i += 1;
            }
            c if c < 0x20 => panic!("unexpected control byte {c:#x} at {i}"),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    assert!(text.is_empty(), "text after the last line feed");
    out
}

#[test]
fn escpos_stream_prints_the_notice_on_58mm_paper() {
    let bytes = escpos::render(&sheet()).expect("render escpos");
    assert!(bytes.starts_with(&escpos::INIT), "starts with ESC @");
    assert!(bytes.ends_with(&escpos::CUT), "ends with the cut");
    // GB18030, not UTF-8.
    assert!(!bytes.windows(3).any(|w| w == "告".as_bytes()), "UTF-8 text in the stream");

    let p = parse_escpos(&bytes);
    assert!(p.init && p.chinese && p.cut && p.qr_model2 && p.qr_printed);
    assert_eq!(p.qr_data.as_deref(), Some(status_url().as_bytes()), "QR payload is the status URL");
    for (line, width) in &p.lines {
        assert!(*width <= escpos::LINE_COLUMNS, "line {line:?} takes {width} columns");
    }
    let text: String = p.lines.iter().map(|(l, _)| l.as_str()).collect();
    for want in [
        "不文明行为告知单",
        "奎文城管告字〔2026〕第000001号",
        "张某",
        "老张水果店",
        "联系电话：138****1234",
        "乱摆摊",
        "店外占用人行道摆放水果",
        "《潍坊市城市市容和环境卫生管理办法》第十六条",
        "2026年11月23日",
        "执法人员：王建国",
    ] {
        assert!(text.contains(want), "printout lacks {want:?}: {text}");
    }
    assert!(!text.contains("13805361234"), "the phone is printed unmasked");
}

#[test]
fn escpos_raster_qr_code_decodes_to_the_status_url() {
    let bytes = escpos::render_with(&sheet(), QrMode::Raster).expect("render");
    let p = parse_escpos(&bytes);
    assert!(p.qr_data.is_none(), "no native QR command in raster mode");
    let (x, y, bits) = p.raster.expect("a GS v 0 image");
    assert!(p.init && p.cut && y > 100);
    if !have(&["zbarimg"]) {
        return;
    }
    // What the head prints, as a PNG (dark dots black), read by zbar.
    let img = image::GrayImage::from_fn((x * 8) as u32, y as u32, |px, py| {
        let byte = bits[py as usize * x + px as usize / 8];
        image::Luma([if byte & (0x80 >> (px % 8)) != 0 { 0 } else { 255 }])
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("qr.png");
    img.save(&png).expect("save png");
    let decoded = run(Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&png));
    assert_eq!(decoded.trim(), status_url());
}

#[test]
fn escpos_wraps_long_text_within_the_roll() {
    let mut s = sheet();
    s.facts = "店外占用人行道摆放水果筐 and boxes, blocking pedestrians（影响通行）".repeat(5);
    s.legal_basis = "《潍坊市城市市容和环境卫生管理办法》第十六条第二款".repeat(3);
    let p = parse_escpos(&escpos::render(&s).expect("render"));
    assert!(p.lines.iter().all(|(_, w)| *w <= escpos::LINE_COLUMNS));
    let text: String = p.lines.iter().map(|(l, _)| l.as_str()).collect();
    assert!(squeeze(&text).contains(&squeeze(&s.legal_basis)));
}

#[test]
fn debug_output_of_a_sheet_holds_nothing_personal() {
    let shown = format!("{:?}", sheet());
    assert!(shown.contains("第000001号"), "{shown}");
    for personal in ["张某", "老张水果店", "13805361234", "138****1234", "店外占用人行道摆放水果"] {
        assert!(!shown.contains(personal), "Debug shows {personal:?}: {shown}");
    }
    let font = FontSource::new(vec![0; 64]);
    assert!(!format!("{font:?}").contains("[0"), "font bytes in Debug");
}
