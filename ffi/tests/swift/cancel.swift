// Cancel a sync of ~1,200 records mid-push: cancelSync() from the listener, then a Swift Task
// cancelled from the listener; then the next sync completes, without duplicates.
import Foundation
import Gridwork

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    var get: T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}

let n = 1200
let officer = try await login("officer.kuiwen2")
for i in 0..<n { _ = try officer.createReport(draft: reportDraft(description: String(format: "批量上报 %04d", i))) }
checkEqual(try officer.pendingCount(), Int64(n))

// 1. cancelSync() from the listener once the first push batch is confirmed.
var handle = officer.subscribe(listener: Recorder { p in
    if p.phase == .pushing && p.pushed > 0 { officer.cancelSync() }
})
guard case .Cancelled = await thrown({ try await officer.syncNow() }) else { fail("not Cancelled") }
handle.cancel()
let left = try officer.pendingCount()
check(left > 0 && left < Int64(n), "left \(left)")

// 2. Task.cancel() from the listener after the next batch. uniffi's Swift async does not pass
//    Task cancellation to Rust, so the sync goes through cancellableSync (withTaskCancellationHandler
//    calling cancelSync): the task ends with Cancelled.
let task = Box<Task<SyncSummary, Error>?>(nil)
handle = officer.subscribe(listener: Recorder { p in
    if p.phase == .pushing && p.pushed > 0 { task.get?.cancel() }
})
task.set(Task { try await cancellableSync(officer) })
let outcome = await task.get!.result
handle.cancel()
guard case .failure(GridworkError.Cancelled) = outcome else { fail("expected Cancelled, got \(outcome)") }
let left2 = try officer.pendingCount()
check(left2 > 0 && left2 < left, "left \(left2) of \(left)")

// 3. A plain Task.cancel() around syncNow(): nothing breaks (it completes or is Cancelled).
let plain = Task { try await officer.syncNow() }
plain.cancel()
switch await plain.result {
case .success: print("plain Task.cancel(): the sync completed (uniffi ignores Swift Task cancellation)")
case .failure(GridworkError.Cancelled): print("plain Task.cancel(): Cancelled")
case let .failure(error): fail("unexpected \(error)")
}

// 4. The next sync completes the work.
_ = try await officer.syncNow()
checkEqual(try officer.pendingCount(), 0)
checkEqual(try officer.rejectedChanges(), [])
let mine = try allRecords(officer, kind: .report, mineOnly: true)
checkEqual(mine.count, n)
check(mine.allSatisfy { $0.syncState == .synced })

let admin = try await login("admin")
_ = try await admin.syncNow()
let author = officer.currentUser()!.id
let theirs = try allRecords(admin, kind: .report).filter { $0.author == author }
checkEqual(theirs.count, n)
checkEqual(theirs.compactMap(\.reportDescription).sorted(), (0..<n).map { String(format: "批量上报 %04d", $0) })

finish("cancel")
