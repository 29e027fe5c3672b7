// A Swift class implementing SyncListener: events arrive; none after TaskHandle.cancel().
import Foundation
import Gridwork

let worker = try await login("grid.kw01")
let recorder = Recorder()
let handle = worker.subscribe(listener: recorder)
check(!handle.isCancelled())
_ = try worker.createReport(draft: reportDraft())
_ = try worker.createServiceLog(draft: serviceLogDraft())
_ = try await worker.syncNow()
let phases = recorder.events.map(\.phase)
checkEqual(phases.first, .pushing)
checkEqual(phases.last, .done)
check(phases.contains(.pulling))
let pushing = recorder.events.filter { $0.phase == .pushing }
checkEqual([pushing.last!.pushed, pushing.last!.pushTotal], [2, 2])
check(recorder.events.last!.pulled > 0)

let seen = recorder.events.count
handle.cancel()
handle.cancel()  // harmless
check(handle.isCancelled())
_ = try worker.createReport(draft: reportDraft())
_ = try await worker.syncNow()
checkEqual(recorder.events.count, seen)

// Releasing the handle (deinit) unsubscribes too.
let dropped = Recorder()
_ = worker.subscribe(listener: dropped)
_ = try await worker.syncNow()
checkEqual(dropped.events.count, 0)

finish("listener")
