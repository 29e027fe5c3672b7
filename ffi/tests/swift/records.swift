// File offline, sync, the admin sees every field; edits both ways; list filters; a rejected change.
import Foundation
import Gridwork

let officer = try await login("officer.kuiwen")
let report = try officer.createReport(draft: reportDraft())
let notice = try officer.createNotice(draft: noticeDraft())
let log = try officer.createServiceLog(draft: serviceLogDraft())
checkEqual(try officer.pendingCount(), 3)
check([report, notice, log].allSatisfy { $0.syncState == .pending })
check(notice.noticeNumber!.hasPrefix("奎文城管告字〔"))
checkEqual([report.kind, notice.kind, log.kind], [.report, .notice, .serviceLog])
checkEqual([report.kindLabel, notice.kindLabel, log.kindLabel], ["随手拍", "不文明行为告知单", "服务日志"])
checkEqual([report.status, notice.status, log.status],
           [.report(status: .submitted), .notice(status: .issued), .serviceLog(status: .open)])
checkEqual([report.statusLabel, notice.statusLabel, log.statusLabel], ["已上报", "已告知", "待答复"])
checkEqual(report.syncStateLabel, "待同步")
checkEqual(report.community, kwCommunity)

let summary = try await officer.syncNow()
checkEqual([summary.pushed, summary.accepted, summary.rejected], [3, 3, 0])
checkEqual(try officer.pendingCount(), 0)
checkEqual(try officer.getRecord(id: notice.id)!.record.syncState, .synced)

let admin = try await login("admin")
_ = try await admin.syncNow()
for mine in [report, notice, log] {
    let theirs = try admin.getRecord(id: mine.id)!.record
    checkEqual(theirs.body, mine.body)
    checkEqual(theirs.location, mine.location)
    checkEqual([theirs.id, theirs.author, theirs.device, theirs.community, theirs.grid],
               [mine.id, mine.author, mine.device, mine.community, mine.grid])
    checkEqual(theirs.kind, mine.kind)
    checkEqual(theirs.status, mine.status)
    checkEqual(theirs.createdAt, mine.createdAt)
    check(theirs.seq != nil && theirs.syncState == .synced)
}
guard case let .notice(_, _, party, _, _, deadline, _, _) = try admin.getRecord(id: notice.id)!.record.body else { fail() }
checkEqual(party, Party(name: "张某", shopName: "老张水果店", phone: "13805361234"))
checkEqual(deadline, day(3))
guard case let .serviceLog(_, activity, activityLabel, participantCount, _, complaints, _, _, _, _) = try admin.getRecord(id: log.id)!.record.body
else { fail() }
checkEqual(activity, .homeVisit)
checkEqual(activityLabel, "入户走访")
let fiveOf: Int32 = participantCount  // an Int32, not a UInt32
checkEqual(fiveOf, 5)
checkEqual(complaints, ["夜间烧烤油烟扰民"])

// edits, with history
let edited = try officer.updateNotice(id: notice.id, edit: NoticeEdit(facts: "店外占道经营，已口头劝导", deadline: day(5)))
checkEqual(edited.syncState, .pending)
let rectified = try officer.setStatus(id: notice.id, status: .notice(status: .rectified))
checkEqual(rectified.status, .notice(status: .rectified))
checkEqual(rectified.statusLabel, "已整改")
checkEqual(try officer.pendingCount(), 2)
_ = try await officer.syncNow()
let history = try officer.getRecord(id: notice.id)!.history
let local = history.compactMap { entry -> (Bool, [String], String)? in
    if case let .local(_, _, isCreate, fields, state, _, _) = entry { return (isCreate, fields, state) }
    return nil
}
checkEqual(local.map { $0.0 }, [true, false, false])
check(local.allSatisfy { $0.2 == "accepted" })
checkEqual(local[1].1.sorted(), ["deadline", "facts"])
checkEqual(local[2].1, ["status"])

_ = try await admin.syncNow()
let seen = try admin.getRecord(id: notice.id)!
checkEqual(seen.record.status, .notice(status: .rectified))
guard case let .server(_, at, actor, _)? = seen.history.last(where: { !$0.isLocal }) else { fail("no server entry") }
checkEqual(actor, officer.currentUser()!.id)
check(at <= Date().addingTimeInterval(60))

// the admin's edit reaches the officer
_ = try await officer.syncNow()
_ = try admin.updateReport(id: report.id, edit: ReportEdit(status: .accepted, description: "井盖缺失，已立案"))
_ = try await admin.syncNow()
_ = try await officer.syncNow()
let back = try officer.getRecord(id: report.id)!
checkEqual(back.record.status, .report(status: .accepted))
checkEqual(back.record.statusLabel, "已立案")
checkEqual(back.record.reportDescription, "井盖缺失，已立案")
guard case let .server(_, _, byAdmin, fields)? = back.history.last(where: { !$0.isLocal }) else { fail() }
checkEqual(byAdmin, admin.currentUser()!.id)
checkEqual(Set(fields), ["status", "description"])
let done = try officer.updateServiceLog(id: log.id, edit: ServiceLogEdit(status: .done, participants: 8, linkedReports: [report.id]))
guard case let .serviceLog(_, _, _, participants, _, _, _, linked, _, _) = done.body else { fail() }
checkEqual(done.status, .serviceLog(status: .done))
checkEqual(participants, 8)
checkEqual(linked, [report.id])

// list filters
let worker = try await login("grid.kw01")
let before = Date().addingTimeInterval(-1)
let r1 = try worker.createReport(draft: reportDraft(description: "一"))
let r2 = try worker.createReport(draft: reportDraft(description: "二"))
let visit = try worker.createServiceLog(draft: serviceLogDraft())
let after = Date().addingTimeInterval(1)
_ = try worker.setStatus(id: visit.id, status: .serviceLog(status: .done))
checkEqual(try worker.listRecords(filter: RecordFilter(kind: .report)).map(\.id), [r2.id, r1.id])  // newest first
checkEqual(try worker.listRecords(filter: RecordFilter(kind: .serviceLog, status: .serviceLog(status: .done))).map(\.id), [visit.id])
checkEqual(try worker.listRecords(filter: RecordFilter(status: .serviceLog(status: .done))).map(\.id), [visit.id])
checkEqual(try worker.listRecords(filter: RecordFilter(kind: .serviceLog, status: .serviceLog(status: .open))), [])
checkEqual(try worker.listRecords(filter: RecordFilter(limit: 1, offset: 1)).map(\.id), [r2.id])
checkEqual(try worker.listRecords(filter: RecordFilter(mineOnly: true)).count, 3)
checkEqual(try worker.listRecords(filter: RecordFilter(createdFrom: before, createdBefore: after)).count, 3)
checkEqual(try worker.listRecords(filter: RecordFilter(createdBefore: before)), [])
checkEqual(try worker.recordCount(), 3)
_ = try await worker.syncNow()
let everyone = try allRecords(worker)
checkEqual(Int64(everyone.count), try worker.recordCount())
check(everyone.count > 3)
let mine = try worker.listRecords(filter: RecordFilter(mineOnly: true))
checkEqual(Set(mine.map(\.author)), [worker.currentUser()!.id])
guard case let .Argument(kindMsg) = await thrown({
    try worker.listRecords(filter: RecordFilter(kind: .notice, status: .report(status: .submitted)))
}) else { fail() }
check(kindMsg.contains("status"), kindMsg)
guard case .Argument = await thrown({ try worker.listRecords(filter: RecordFilter(limit: -1)) }) else { fail() }
guard case .Argument = await thrown({ try worker.listRecords(filter: RecordFilter(offset: -1)) }) else { fail() }

// a change out of the user's scope is rejected, with its reason, until discarded
let outside = try worker.createReport(draft: reportDraft(grid: wcGrid))
let inside = try worker.createReport(draft: reportDraft())
let result = try await worker.syncNow()
checkEqual([result.accepted, result.rejected], [1, 1])
let rejected = try worker.rejectedChanges()
checkEqual(rejected.count, 1)
checkEqual(rejected[0].recordId, outside.id)
checkEqual(rejected[0].reason, .outOfScope)
checkEqual(rejected[0].reasonLabel, "超出您的管辖范围")
checkEqual(rejected[0].field, "org.grid")
check(rejected[0].rejectedAt >= rejected[0].createdAt)
checkEqual(try worker.getRecord(id: outside.id)!.record.syncState, .rejected)
checkEqual(try worker.getRecord(id: inside.id)!.record.syncState, .synced)
try worker.discardRejected(opId: rejected[0].opId)
checkEqual(try worker.rejectedChanges(), [])
guard case .NotFound = await thrown({ try worker.discardRejected(opId: rejected[0].opId) }) else { fail() }

finish("records")
