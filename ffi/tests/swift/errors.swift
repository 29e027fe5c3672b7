// Bad input is a typed GridworkError, never a crash; a wrong database key is WrongKey.
import Foundation
import Gridwork

let worker = try await login("grid.kw01")
let report = try worker.createReport(draft: reportDraft())

for bad in ["not-a-uuid", "12345", ""] {
    guard case let .Argument(msg) = await thrown({ try worker.getRecord(id: bad) }) else { fail() }
    check(msg.contains("UUID"), msg)
}
guard case .Argument = await thrown({ try worker.setStatus(id: "12345", status: .report(status: .accepted)) }) else { fail() }
guard case .Argument = await thrown({ try worker.updateReport(id: "", edit: ReportEdit(description: "x")) }) else { fail() }
guard case .Argument = await thrown({ try worker.discardRejected(opId: "zzz") }) else { fail() }

guard case let .Invalid(reason, field, _) = await thrown({ try worker.createReport(draft: reportDraft(lat: 91)) }) else { fail() }
checkEqual(reason, .invalid)
checkEqual(field, "location.lat")
guard case let .Invalid(_, emptyField, _) = await thrown({ try worker.createReport(draft: reportDraft(description: "   ")) })
else { fail() }
checkEqual(emptyField, "description")
guard case let .Argument(dateMsg) = await thrown({ try worker.createNotice(draft: noticeDraft(deadline: "2024-13-45")) })
else { fail() }
check(dateMsg.contains("deadline"), dateMsg)
guard case let .Argument(countMsg) = await thrown({ try worker.createServiceLog(draft: serviceLogDraft(participants: -1)) })
else { fail() }
check(countMsg.contains("participants"), countMsg)
guard case .Argument = await thrown({ try worker.createServiceLog(draft: serviceLogDraft(linkedReports: ["nope"])) }) else { fail() }
guard case .Argument = await thrown({ try worker.updateReport(id: report.id, edit: ReportEdit()) }) else { fail() }
guard case .Invalid(.kindMismatch, _, _) = await thrown({ try worker.updateNotice(id: report.id, edit: NoticeEdit(facts: "x")) })
else { fail() }
guard case .Invalid(.invalidTransition, _, _) = await thrown({ try worker.setStatus(id: report.id, status: .report(status: .accepted)) })
else { fail() }
guard case .NotFound = await thrown({ try worker.setStatus(id: UUID().uuidString, status: .serviceLog(status: .done)) }) else { fail() }
let nothing = try worker.getRecord(id: UUID().uuidString)
check(nothing == nil)
// GridworkError is a LocalizedError too.
check(!(GridworkError.NotFound(msg: "记录不存在").localizedDescription.isEmpty))

// Nothing bad was stored, and the client still works.
checkEqual(try worker.pendingCount(), 1)
checkEqual(try worker.getRecord(id: report.id)!.record.reportDescription, "人行道井盖缺失")

// Database keys: 64 hex digits (what the Keychain helper stores), or a passphrase.
let key = String(repeating: "ab", count: 32)
var device = ""
do { device = try openClient("secret", key: key).deviceId() }  // released here
for wrong in [String(repeating: "cd", count: 32), "a passphrase", nil] {
    guard case .WrongKey = await thrown({ try openClient("secret", key: wrong) }) else { fail("key \(String(describing: wrong))") }
}
checkEqual(try openClient("secret", key: key).deviceId(), device)
let head = FileManager.default.contents(atPath: testDir.appendingPathComponent("secret.db").path)!.prefix(15)
check(String(decoding: head, as: UTF8.self) != "SQLite format 3")
_ = try openClient("pass", key: "correct horse battery staple")
guard case .WrongKey = await thrown({ try openClient("pass", key: "correct horse") }) else { fail() }

finish("errors")
