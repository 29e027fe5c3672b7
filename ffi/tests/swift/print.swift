// A notice printed on patrol, offline: ESC/POS for a 58 mm printer (native and raster QR)
// and a PDF when the CJK font is there, with the QR code's status URL.
import Foundation
import Gridwork

let officer = try await login("officer.kuiwen")
let notice = try officer.createNotice(draft: noticeDraft())
let url = try officer.noticeStatusUrl(id: notice.id)
check(url.hasSuffix("/public/notices/\(notice.id)"))
let esc = try officer.noticeEscpos(id: notice.id, qr: .native)
check(esc.starts(with: [0x1b, 0x40]) && esc.suffix(4) == Data([0x1d, 0x56, 0x42, 0x00]))
check(esc.range(of: Data(url.utf8)) != nil && esc.range(of: Data("138****1234".utf8)) != nil)
let raster = try officer.noticeEscpos(id: notice.id, qr: .raster)
check(raster.range(of: Data(url.utf8)) == nil)
let font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
if FileManager.default.fileExists(atPath: font) {
    let pdf = try officer.noticePdf(id: notice.id, paper: .a5, fontPath: font, fontIndex: 0)
    check(pdf.starts(with: Data("%PDF-".utf8)))
}
do {
    _ = try officer.noticePdf(id: notice.id, paper: .a4, fontPath: "/nonexistent.ttc", fontIndex: 0)
    fail("expected Argument")
} catch GridworkError.Argument {}

finish("print")
