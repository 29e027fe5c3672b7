// 案件: the loop 立案 → 派遣 → 处置 → 核查 → 结案 on three phones (the reporting grid worker, who
// also checks on site; the admin; the officer), each step offline and synced after; then the
// case calls' bad input as typed errors.
import Foundation
import Gridwork

func writeFile(_ data: Data, _ name: String) -> String {
    let path = testDir.appendingPathComponent(name).path
    check(FileManager.default.createFile(atPath: path, contents: data))
    return path
}

func caseStatus(_ status: CaseStatus) -> RecordStatus { .`case`(status: status) }

let reporter = try await login("grid.kw01")
let admin = try await login("admin")
let officer = try await login("officer.kuiwen")
// Whom to dispatch to: the officers in the admin's local copy of the accounts.
let officers = try admin.users(role: .officer)
check(!officers.isEmpty && officers.allSatisfy { $0.role == .officer }, "only officers")
let officerId = officers.first { $0.username == "officer.kuiwen" }!.id
checkEqual(officerId, officer.currentUser()!.id)

// 上报.
let report = try reporter.createReport(draft: reportDraft(description: "路边暴露垃圾，未及时清运"))
checkEqual(try await reporter.syncNow().accepted, 1)
checkEqual(try reporter.caseOf(recordId: report.id), nil)

// 立案 and 派遣 on the admin's phone, offline; synced after.
_ = try await admin.syncNow()
let source = CaseSource.report(id: report.id)
let opened = try admin.openCase(draft: CaseDraft(source: source, category: "06010", description: "路边暴露垃圾"))
checkEqual(opened.kind, .`case`)
checkEqual(opened.kindLabel, "案件")
checkEqual(opened.status, caseStatus(.registered))
checkEqual(opened.statusLabel, "已立案")
check(opened.caseBody!.number == nil, "numbered by the server")
checkEqual(opened.caseBody!.source, source)
checkEqual(opened.grid, report.grid)
checkEqual(opened.caseBody!.timeline.map(\.action), [.register])
checkEqual(opened.caseBody!.timeline[0].actionLabel, "立案")
checkEqual(try admin.caseRemaining(id: opened.id), nil, "no clock before 派遣")
let toOfficer = Assignee.officer(userId: officerId)
let dispatched = try admin.caseStep(id: opened.id, action: .dispatch(to: toOfficer), note: "请尽快清运", photos: [])
checkEqual(dispatched.status, caseStatus(.dispatched))
checkEqual(dispatched.statusLabel, "处置中")
checkEqual(dispatched.caseBody!.assignee, toOfficer)
var summary = try await admin.syncNow()
checkEqual([summary.accepted, summary.rejected], [2, 0])
let caseView = try admin.getRecord(id: opened.id)!.record
checkEqual(caseView.syncState, .synced)
let number = caseView.caseBody!.number ?? ""
check(number.hasPrefix("370705-") && number.count == "370705-2026-000001".count, number)
check(caseView.caseBody!.dueAt != nil)
let remaining: Int64? = try admin.caseRemaining(id: caseView.id)
check((1...240).contains(remaining ?? 0), "\(String(describing: remaining))")  // 06010: four working hours
checkEqual(try admin.getRecord(id: report.id)!.record.status, .report(status: .accepted))

// 处置 on the officer's phone, offline (no sync until done), with an "after" photo.
_ = try await officer.syncNow()
checkEqual(try officer.getRecord(id: caseView.id)!.record.status, caseStatus(.dispatched))
officer.setNetwork(network: .unmetered)
let after = try officer.takePhoto(filePath: writeFile(blueJpeg, "after.jpg"), stage: .after)
checkEqual(after.stage, .after)
checkEqual(after.stageLabel, "整改后")
checkEqual(try officer.photoQueue().count, 1)  // queued, attached to nothing yet
let handled = try officer.caseStep(id: caseView.id, action: .handle, note: "已清运", photos: [after])
checkEqual(handled.status, caseStatus(.handled))
checkEqual(handled.statusLabel, "待核查")
checkEqual(handled.syncState, .pending)
checkEqual(handled.photos, [after])
checkEqual(handled.caseBody!.timeline.last!.photos, [after.sha256])
summary = try await officer.syncNow()
checkEqual([summary.accepted, summary.rejected, summary.photosUploaded], [1, 0, 1])

// 核查 fails (返工) on the reporter's phone: back to the officer, counted.
_ = try await reporter.syncNow()
checkEqual(try reporter.getRecord(id: caseView.id)!.record.status, caseStatus(.handled))
let failed = try reporter.caseStep(id: caseView.id, action: .verify(passed: false), note: "现场仍有垃圾")
checkEqual(failed.status, caseStatus(.dispatched))
checkEqual(failed.caseBody!.reworks, 1)
checkEqual(try await reporter.syncNow().accepted, 1)
_ = try await officer.syncNow()
let back = try officer.getRecord(id: caseView.id)!.record
checkEqual(back.status, caseStatus(.dispatched))
checkEqual(back.caseBody!.reworks, 1)
_ = try officer.caseStep(id: caseView.id, action: .handle, note: "已彻底清理")
checkEqual(try await officer.syncNow().accepted, 1)

// Two phones act on the same stage offline: the reporter passes the check, the admin
// suspends. The first to sync wins; the other is refused as staleStep.
_ = try await reporter.syncNow()
_ = try await admin.syncNow()
let passed = try reporter.caseStep(id: caseView.id, action: .verify(passed: true), note: "已整改")
checkEqual(passed.status, caseStatus(.closed))
checkEqual(passed.statusLabel, "已结案")
_ = try admin.caseStep(id: caseView.id, action: .suspend)
checkEqual(try await reporter.syncNow().accepted, 1)
checkEqual(try await admin.syncNow().rejected, 1)
let refused = try admin.rejectedChanges()
checkEqual(refused.count, 1)
checkEqual(refused[0].reason, .staleStep)
checkEqual(refused[0].reasonLabel, "案件已被他人先行办理")
checkEqual(try admin.getRecord(id: caseView.id)!.record.status, caseStatus(.closed))
try admin.discardRejected(opId: refused[0].opId)

// 答复, and the reporter's phone shows it with the case closed.
let reply = "您反映的暴露垃圾已清运完毕，感谢监督！"
_ = try admin.caseStep(id: caseView.id, action: .reply(text: reply))
checkEqual(try await admin.syncNow().accepted, 1)
_ = try await reporter.syncNow()
let seen = try reporter.caseOf(recordId: report.id)!
checkEqual(seen.id, caseView.id)
checkEqual(seen.status, caseStatus(.closed))
checkEqual(seen.statusLabel, "已结案")
checkEqual(seen.caseBody!.reply, reply)
check(seen.caseBody!.closedAt != nil)
checkEqual(try reporter.caseRemaining(id: caseView.id), nil, "closed: no clock")
checkEqual(try reporter.getRecord(id: report.id)!.record.status, .report(status: .closed))
let timeline = seen.caseBody!.timeline
checkEqual(timeline.map(\.action), [.register, .dispatch, .handle, .verify, .handle, .verify, .reply] as [CaseEventKind])
checkEqual(timeline[1].assignee, toOfficer)
checkEqual(timeline[1].note, "请尽快清运")
checkEqual(timeline[2].actor, officerId)
checkEqual(timeline[2].device, officer.deviceId())
checkEqual(timeline[2].photos, [after.sha256])
checkEqual(timeline[3].toStatus, caseStatus(.dispatched))
checkEqual(timeline[3].toStatusLabel, "处置中")
checkEqual(timeline[5].fromStatus, caseStatus(.handled))
checkEqual(timeline[5].toStatus, caseStatus(.closed))
_ = try await officer.syncNow()
checkEqual(try officer.getRecord(id: caseView.id)!.record.caseBody!.timeline, timeline)  // the same on every phone
let thumb = try await reporter.fetchPhoto(sha256: after.sha256, thumb: true)
check(FileManager.default.fileExists(atPath: thumb), "the reporter sees the after photo")
let closed = try reporter.listRecords(filter: RecordFilter(status: caseStatus(.closed), limit: 1000))
check(closed.contains { $0.id == caseView.id })
check(closed.allSatisfy { $0.kind == .`case` })
// What a screen does with a case's status: a switch, no string codes.
switch seen.status {
case .`case`(status: .closed), .`case`(status: .voided): break
case let other: fail("unexpected \(other)")
}

// --- bad input: typed errors, never a crash ---------------------------------------------

let mine = try admin.createReport(draft: reportDraft())
func draft(_ source: CaseSource, grid: String? = nil, location: Location? = nil) -> CaseDraft {
    CaseDraft(source: source, category: "06010", description: "暴露垃圾", grid: grid, location: location)
}
let fresh = try admin.openCase(draft: draft(.report(id: mine.id)))
let pending = try admin.pendingCount()

// openCase: a bad id, a negative index, half a place; an unknown source; a grid worker.
guard case let .Argument(idMsg) = await thrown({ try admin.openCase(draft: draft(.report(id: "not-a-uuid"))) }) else { fail() }
check(idMsg.contains("source.id"), idMsg)
guard case let .Argument(indexMsg) = await thrown({
    try admin.openCase(draft: draft(.serviceLog(id: UUID().uuidString, complaint: -1)))
}) else { fail() }
check(indexMsg.contains("source.complaint"), indexMsg)
guard case .Argument = await thrown({ try admin.openCase(draft: draft(.hotline, grid: kwGrid)) }) else { fail() }
guard case .Argument = await thrown({ try admin.openCase(draft: draft(.hotline)) }) else { fail() }
guard case .NotFound = await thrown({ try admin.openCase(draft: draft(.report(id: UUID().uuidString))) }) else { fail() }
let hotline = try admin.openCase(draft: draft(.hotline, grid: kwGrid, location: location()))
checkEqual(hotline.caseBody!.source, .hotline)
guard case .Invalid(.wrongRole, _, _) = await thrown({ try reporter.openCase(draft: draft(.report(id: report.id))) })
else { fail() }

// caseStep: bad and unknown ids, negative minutes, a bad photo; steps the rules refuse here.
guard case let .Argument(uuidMsg) = await thrown({ try admin.caseStep(id: "zzz", action: .handle) }) else { fail() }
check(uuidMsg.contains("UUID"), uuidMsg)
guard case .NotFound = await thrown({ try admin.caseStep(id: UUID().uuidString, action: .handle) }) else { fail() }
for minutes: Int64 in [-5, .min] {
    guard case let .Argument(msg) = await thrown({
        try admin.caseStep(id: fresh.id, action: .requestExtension(workingMinutes: minutes))
    }) else { fail() }
    check(msg.contains("working_minutes"), msg)
}
let photo = try admin.takePhoto(filePath: writeFile(greenJpeg, "p.jpg"), stage: nil)
check(photo.stage == nil)
checkEqual([photo.width, photo.height], [32, 24])
var badPhoto = photo
badPhoto.bytes = -1
guard case let .Argument(photoMsg) = await thrown({
    try admin.caseStep(id: fresh.id, action: .note, note: "x", photos: [badPhoto])
}) else { fail() }
check(photoMsg.contains("photos.bytes"), photoMsg)
let refusals: [(GridworkClient, String, CaseAction, RejectReason)] = [
    (admin, fresh.id, .handle, .invalidTransition),  // not dispatched
    (admin, fresh.id, .requestExtension(workingMinutes: 60), .notAssignee),
    (admin, fresh.id, .markOverdue, .wrongRole),  // the server's own
    (admin, fresh.id, .note, .invalid),  // a note needs its note
    (admin, fresh.id, .dispatch(to: .unit(code: kwGrid)), .invalid),  // a grid is no brigade
    (admin, mine.id, .handle, .kindMismatch),  // not a case
    (reporter, report.id, .verify(passed: true), .kindMismatch),
]
for (client, id, action, reason) in refusals {
    guard case let .Invalid(got, _, _) = await thrown({ try client.caseStep(id: id, action: action) }) else { fail() }
    checkEqual(got, reason, "\(action)")
}
guard case let .Invalid(statusReason, statusField, _) = await thrown({
    try admin.setStatus(id: fresh.id, status: caseStatus(.closed))  // a case moves only by its steps
}) else { fail() }
checkEqual(statusReason, .invalidTransition)
checkEqual(statusField, "status")

// takePhoto: not a photo we take in.
guard case let .Photo(code, _) = await thrown({
    try admin.takePhoto(filePath: writeFile(Data("hello".utf8), "x.jpg"), stage: .after)
}) else { fail() }
check(code.hasPrefix("photo_"), code)

// caseOf and caseRemaining.
guard case .Argument = await thrown({ try admin.caseOf(recordId: "not-a-uuid") }) else { fail() }
checkEqual(try admin.caseOf(recordId: UUID().uuidString), nil)
checkEqual(try admin.caseOf(recordId: fresh.id), nil, "a case is opened from records, not from itself")
checkEqual(try admin.caseOf(recordId: mine.id)?.id, fresh.id)
guard case .Argument = await thrown({ try admin.caseRemaining(id: "not-a-uuid") }) else { fail() }
guard case .NotFound = await thrown({ try admin.caseRemaining(id: UUID().uuidString) }) else { fail() }
guard case .Argument = await thrown({ try admin.caseRemaining(id: mine.id) }) else { fail() }  // not a case
checkEqual(try admin.caseRemaining(id: fresh.id), nil)

checkEqual(try admin.pendingCount(), pending + 1)  // only the hotline case was queued

finish("cases")
