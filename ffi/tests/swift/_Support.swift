// Helpers compiled into every Swift test program (swift-check.sh: files named _*.swift).
// `serverURL` comes from _Config.swift, which run.sh writes next to a copy of these files.
import Foundation
import Gridwork

let password = "gridwork-demo"
let kwGrid = "370705001001-01"  // 胜利东街社区 第1网格 (奎文区), grid.kw01's grid
let kwCommunity = "370705001001"
let wcGrid = "370702001001-01"  // 十笏园社区 第1网格 (潍城区)

// --- checks: print where and exit 1 -------------------------------------------------------

func fail(_ message: String = "", file: StaticString = #fileID, line: UInt = #line) -> Never {
    print("FAIL \(file):\(line) \(message)")
    exit(1)
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "",
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fail(message(), file: file, line: line) }
}

func checkEqual<T: Equatable>(_ a: T, _ b: T, _ message: String = "", file: StaticString = #fileID, line: UInt = #line) {
    if a != b { fail("\(a) != \(b) \(message)", file: file, line: line) }
}

/// The `GridworkError` that `body` throws; fails the test when it throws nothing or something else.
func thrown<T>(_ body: () async throws -> T, file: StaticString = #fileID, line: UInt = #line) async -> GridworkError {
    do {
        let value = try await body()
        fail("expected a GridworkError, got \(value)", file: file, line: line)
    } catch let error as GridworkError {
        return error
    } catch {
        fail("expected a GridworkError, got \(error)", file: file, line: line)
    }
}

// --- clients, each on its own database file -----------------------------------------------

let testDir: URL = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gridwork-swift-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()

/// The chroot of swift-check.sh has no CA certificates, and the core's HTTP client
/// (reqwest + rustls-platform-verifier) refuses to be built without any, so that even
/// `GridworkClient.open` fails (as `Network`). The tests use plain http: point SSL_CERT_FILE
/// at a throwaway self-signed certificate (no key kept) when the system has no CA store.
let caStore: Void = {
    let system = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]
    if getenv("SSL_CERT_FILE") != nil || system.contains(where: FileManager.default.fileExists) { return }
    let path = testDir.appendingPathComponent("placeholder-ca.pem").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(placeholderCA.utf8))
    setenv("SSL_CERT_FILE", path, 1)
}()

let placeholderCA = """
-----BEGIN CERTIFICATE-----
MIIBuDCCAV2gAwIBAgIUcVAxU9BCsMw1mgPWU30pxBVBI0MwCgYIKoZIzj0EAwIw
MDEuMCwGA1UEAwwlZ3JpZHdvcmsgc3dpZnQgdGVzdHMgcGxhY2Vob2xkZXIgcm9v
dDAgFw0yNjExMjcwMDIyMTlaGA8yMTI2MTEwMzAwMjIxOVowMDEuMCwGA1UEAwwl
Z3JpZHdvcmsgc3dpZnQgdGVzdHMgcGxhY2Vob2xkZXIgcm9vdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABI3E/v3HCyi+rHfpolc9L0VTD5HLqazv6+y+5P/rHT2h
CCiEHpKdndsW+u9Xe6Un5t9jbwYM29YDmW1M7jigUSGjUzBRMB0GA1UdDgQWBBRN
2PFTahls3iLxHQMHttLOkkrzojAfBgNVHSMEGDAWgBRN2PFTahls3iLxHQMHttLO
kkrzojAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCZUz4BgmX/
z7PJoaxIdT2uiyQWnHNAJNSIaBalG8IP6AIhAKXGiVC5f4ZfSpkmabRLeFBiTLVH
mWEZR0dKU8AhSCVx
-----END CERTIFICATE-----
"""

func openClient(_ name: String = "device", key: String? = nil, url: String = serverURL) throws -> GridworkClient {
    _ = caStore
    return try GridworkClient.open(dbPath: testDir.appendingPathComponent("\(name).db").path, serverUrl: url, dbKey: key)
}

func login(_ username: String, name: String? = nil) async throws -> GridworkClient {
    let client = try openClient(name ?? username)
    _ = try await client.login(username: username, password: password)
    return client
}

// --- drafts --------------------------------------------------------------------------------

func location(lat: Double = 36.7069, lon: Double = 119.1617) -> Location {
    Location(lat: lat, lon: lon, accuracyM: 6.5, address: "潍坊市奎文区胜利东街")
}

func day(_ offset: Int = 0) -> String {
    let formatter = DateFormatter()
    formatter.calendar = Calendar(identifier: .gregorian)
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd"
    return formatter.string(from: Date().addingTimeInterval(Double(offset) * 86_400))
}

func reportDraft(grid: String = kwGrid, description: String = "人行道井盖缺失", lat: Double = 36.7069) -> ReportDraft {
    ReportDraft(grid: grid, location: location(lat: lat), category: "09006", description: description)
}

func noticeDraft(number: String? = nil, deadline: String = day(3)) -> NoticeDraft {
    NoticeDraft(grid: kwGrid, location: location(), number: number, category: "QL-STALL",
                party: Party(name: "张某", shopName: "老张水果店", phone: "13805361234"),
                facts: "店外占用人行道摆放水果", legalBasis: "《潍坊市城市市容和环境卫生管理办法》第十六条",
                deadline: deadline)
}

func serviceLogDraft(activity: Activity = .homeVisit, participants: Int32 = 5, linkedReports: [String] = []) -> ServiceLogDraft {
    ServiceLogDraft(grid: kwGrid, location: location(), date: day(), activity: activity, participants: participants,
                    summary: "走访沿街商户，宣传门前五包", complaints: ["夜间烧烤油烟扰民"],
                    replies: ["已告知中队，三日内现场查看"], linkedReports: linkedReports)
}

/// Every record matching the filter, page by page (a page holds at most 1000).
func allRecords(_ client: GridworkClient, kind: RecordKind? = nil, mineOnly: Bool = false) throws -> [RecordView] {
    var out: [RecordView] = []
    while true {
        let page = try client.listRecords(filter: RecordFilter(kind: kind, mineOnly: mineOnly, limit: 1000, offset: Int64(out.count)))
        out += page
        if page.count < 1000 { return out }
    }
}

// RecordBody is an enum with associated values: small accessors for the tests.
extension RecordView {
    var reportDescription: String? { if case let .report(_, description, _, _) = body { return description }; return nil }
    var noticeNumber: String? { if case let .notice(number, _, _, _, _, _, _, _) = body { return number }; return nil }
    var photos: [PhotoInfo] {
        switch body {
        case let .report(_, _, photos, _): return photos
        case let .notice(_, _, _, _, _, _, photos, _): return photos
        case let .serviceLog(_, _, _, _, _, _, _, _, photos, _): return photos
        case let .`case`(_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, photos): return photos
        }
    }

    /// The fields of a case the tests read, or nil for another kind.
    var caseBody: CaseBody? {
        guard case let .`case`(number, source, category, _, assignee, dueAt, _, _, _, reworks, _, _, reply, _, _, closedAt,
                               timeline, photos) = body
        else { return nil }
        return CaseBody(number: number, source: source, category: category, assignee: assignee, dueAt: dueAt,
                        reworks: reworks, reply: reply, closedAt: closedAt, timeline: timeline, photos: photos)
    }
}

struct CaseBody {
    let number: String?
    let source: CaseSource
    let category: String
    let assignee: Assignee?
    let dueAt: Date?
    let reworks: Int32
    let reply: String?
    let closedAt: Date?
    let timeline: [CaseEvent]
    let photos: [PhotoInfo]
}

extension HistoryEntry {
    var isLocal: Bool { if case .local = self { return true }; return false }
}

/// A Swift `SyncListener`: keeps the events (called on the sync's thread), optionally reacts.
final class Recorder: SyncListener, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [SyncProgressInfo] = []
    private let onEvent: ((SyncProgressInfo) -> Void)?

    init(_ onEvent: ((SyncProgressInfo) -> Void)? = nil) { self.onEvent = onEvent }

    func onProgress(progress: SyncProgressInfo) {
        lock.lock()
        seen.append(progress)
        lock.unlock()
        onEvent?(progress)
    }

    var events: [SyncProgressInfo] { lock.lock(); defer { lock.unlock() }; return seen }
}

/// `syncNow()` that a Swift Task cancellation stops: uniffi's Swift async calls do not
/// forward Task cancellation to the Rust future, so `cancelSync()` does it.
func cancellableSync(_ client: GridworkClient) async throws -> SyncSummary {
    try await withTaskCancellationHandler {
        try await client.syncNow()
    } onCancel: {
        client.cancelSync()
    }
}

// --- SHA-256 (no CryptoKit on Linux) ---------------------------------------------------------

func sha256Hex(_ data: Data) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var bytes = [UInt8](data)
    let bitLength = UInt64(bytes.count) * 8
    bytes.append(0x80)
    while bytes.count % 64 != 56 { bytes.append(0) }
    for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    var w = [UInt32](repeating: 0, count: 64)
    for chunk in stride(from: 0, to: bytes.count, by: 64) {
        for i in 0..<16 {
            w[i] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[chunk + i * 4 + $1]) }
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for i in 0..<64 {
            let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }
    return h.map { String(format: "%08x", $0) }.joined()
}

func sha256Hex(file path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return sha256Hex(data)
}

/// End of a test program: remove its databases, say so, exit 0.
func finish(_ name: String) -> Never {
    try? FileManager.default.removeItem(at: testDir)
    print("ok: \(name)")
    exit(0)
}
