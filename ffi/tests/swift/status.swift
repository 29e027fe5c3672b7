// Record status as enums both ways; a status of another kind is refused with a typed error;
// counts and sizes are Int64, small numbers Int32; negative numbers are Argument errors.
import Foundation
import Gridwork

let officer = try await login("officer.kuiwen")
let notice = try officer.createNotice(draft: noticeDraft())
let report = try officer.createReport(draft: reportDraft())
checkEqual(notice.status, .notice(status: .issued))

// 已告知 → 逾期未整改 → 已移交立案 → 已整改, each read back as the same value.
for (step, label) in [(NoticeStatus.overdue, "逾期未整改"), (.escalated, "已移交立案"), (.rectified, "已整改")] {
    let status = RecordStatus.notice(status: step)
    let shown = try officer.setStatus(id: notice.id, status: status)
    checkEqual(shown.status, status)
    checkEqual(shown.statusLabel, label)
    checkEqual(try officer.getRecord(id: notice.id)!.record.status, status)
}
// What a screen does with it: a switch, no string codes.
switch try officer.getRecord(id: notice.id)!.record.status {
case .notice(status: .rectified): break
case let other: fail("unexpected \(other)")
}

// A status of another kind: Invalid with kindMismatch; nothing is queued.
let pending: Int64 = try officer.pendingCount()
for (id, status) in [(report.id, RecordStatus.notice(status: .rectified)), (notice.id, .report(status: .accepted)),
                     (notice.id, .serviceLog(status: .done))] {
    guard case let .Invalid(reason, _, msg) = await thrown({ try officer.setStatus(id: id, status: status) }) else { fail() }
    checkEqual(reason, .kindMismatch)
    check(!msg.isEmpty)
}
guard case let .Invalid(reason, field, _) = await thrown({ try officer.setStatus(id: notice.id, status: .notice(status: .issued)) })
else { fail() }
checkEqual(reason, .invalidTransition)
checkEqual(field, "status")
checkEqual(try officer.pendingCount(), pending)

_ = try await officer.syncNow()
let admin = try await login("admin")
_ = try await admin.syncNow()
checkEqual(try admin.getRecord(id: notice.id)!.record.status, .notice(status: .rectified))
let listed = try admin.listRecords(filter: RecordFilter(status: .notice(status: .rectified), limit: 1000))
check(listed.contains { $0.id == notice.id })
check(listed.allSatisfy { $0.kind == .notice })

// Numbers: the declared types are the check (this file compiles only with Int64 and Int32).
let worker = try await login("grid.kw01", name: "numbers")
let log = try worker.createServiceLog(draft: serviceLogDraft(participants: 12))
guard case let .serviceLog(_, _, _, participants, _, _, _, _, _, _) = log.body else { fail() }
let people: Int32 = participants
checkEqual(people, 12)
let records: Int64 = try worker.recordCount()
let queue = try worker.photoQueue()
let queued: Int64 = queue.count
let queuedBytes: Int64 = queue.bytes
checkEqual([try worker.pendingCount(), records, queued, queuedBytes], [1, 1, 0, 0])
let summary = try await worker.syncNow()
let sent: Int64 = summary.bytesSent
check(sent > 0 && summary.roundTrips > 0)
let seq: Int64? = try worker.getRecord(id: log.id)!.record.seq
check((seq ?? 0) > 0)
let freed: Int64 = try worker.freePhotoSpace()
checkEqual(freed, 0)
for participants: Int32 in [-1, .min] {
    guard case let .Argument(msg) = await thrown({ try worker.createServiceLog(draft: serviceLogDraft(participants: participants)) })
    else { fail() }
    check(msg.contains("participants"), msg)
}
guard case .Argument = await thrown({ try worker.updateServiceLog(id: log.id, edit: ServiceLogEdit(participants: -3)) }) else { fail() }
guard case let .Invalid(_, tooMany, _) = await thrown({ try worker.updateServiceLog(id: log.id, edit: ServiceLogEdit(participants: .max)) })
else { fail() }
checkEqual(tooMany, "participants")  // too many is the core's own rule: Invalid
checkEqual(try worker.pendingCount(), 0)
let serverError = GridworkError.Server(status: 503, code: "unavailable", msg: "服务器错误（503 unavailable）")
guard case let .Server(httpStatus, _, _) = serverError else { fail() }
let code: Int32 = httpStatus
checkEqual(code, 503)

// Odd strings: typed errors, never a crash. A 64-byte key of multi-byte characters is a passphrase.
let wide = String(repeating: "密", count: 21) + "x"
checkEqual(wide.utf8.count, 64)
var device = ""
do { device = try openClient("wide", key: wide).deviceId() }
checkEqual(try openClient("wide", key: wide).deviceId(), device)
guard case .WrongKey = await thrown({ try openClient("wide", key: String(repeating: "密", count: 21) + "y") }) else { fail() }
for s in ["", "é" + String(repeating: "0", count: 63), String(repeating: "密", count: 22)] {
    check(worker.photoFile(sha256: s, thumb: false) == nil)
    _ = await thrown({ try worker.getRecord(id: s) })
    _ = await thrown({ try worker.detachPhoto(recordId: log.id, sha256: s) })
    _ = await thrown({ try await worker.fetchPhoto(sha256: s, thumb: false) })
}

finish("status")
