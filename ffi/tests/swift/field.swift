// Field work: the duplicate hint while a report is filed (the open report of the same
// category within 50 m, not the one 200 m on), and a service log whose complaint opens a
// case the log lists with its stage.
import Foundation
import Gridwork

let worker = try await login("grid.kw01")
let admin = try await login("admin")
let (lat, lon) = (36.71234, 119.17321)
let near = try worker.createReport(draft: ReportDraft(grid: kwGrid, location: location(lat: lat + 0.0002, lon: lon),
                                                      category: "06036", description: "路边暴露垃圾"))
let far = try worker.createReport(draft: ReportDraft(grid: kwGrid, location: location(lat: lat + 0.0018, lon: lon),
                                                     category: "06036", description: "路边暴露垃圾"))
let hints = try worker.duplicateHints(category: "06036", lat: lat, lon: lon)
checkEqual(hints.map(\.record.id), [near.id])
check(!hints.contains { $0.record.id == far.id })
check(hints[0].distanceM > 21.0 && hints[0].distanceM < 23.5, "\(hints[0].distanceM)")
guard case .Argument = await thrown({ try worker.duplicateHints(category: "06036", lat: 91.0, lon: lon) }) else { fail() }

let log = try worker.createServiceLog(draft: serviceLogDraft())
checkEqual(try worker.casesFrom(recordId: log.id).count, 0)
_ = try await worker.syncNow()
_ = try await admin.syncNow()
let source = CaseSource.serviceLog(id: log.id, complaint: 0)
_ = try admin.openCase(draft: CaseDraft(source: source, category: "09006", description: "夜间烧烤油烟扰民"))
checkEqual(try await admin.syncNow().rejected, 0)
_ = try await worker.syncNow()
let cases = try worker.casesFrom(recordId: log.id)
checkEqual(cases.map { $0.caseBody!.source }, [source])
checkEqual(cases.map(\.status), [.`case`(status: .registered)])

// 小蓝棚: found by its QR code offline, an inspection listed on its page.
let officer = try await login("officer.kuiwen")
let stall = try officer.stallByQr(payload: "https://cg.weifang.example/public/stalls/KW-XLP-003")!
checkEqual(stall.code, "KW-XLP-003")
check(stall.operator != nil)
let noSuch = try officer.stallByQr(payload: "NO-SUCH-1")
check(noSuch == nil)
guard case .Argument = await thrown({ try officer.stallByQr(payload: "https://evil.example/x") }) else { fail() }
checkEqual(try officer.stallsNear(lat: stall.lat, lon: stall.lon, radiusM: 300.0).first?.code, stall.code)
var visit = serviceLogDraft()
visit.grid = stall.community + "-01"
visit.stall = stall.code
let visitLog = try officer.createServiceLog(draft: visit)
checkEqual(try officer.stallInspections(code: stall.code).map(\.id), [visitLog.id])

finish("field")
