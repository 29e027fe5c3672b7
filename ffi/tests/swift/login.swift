// Login, typed login errors, logout, reference data.
import Foundation
import Gridwork

// login and the current user
let client = try openClient()
check(UUID(uuidString: client.deviceId()) != nil)
checkEqual(client.serverUrl().trimmingCharacters(in: CharacterSet(charactersIn: "/")),
           serverURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
check(client.currentUser() == nil)
let user = try await client.login(username: "grid.kw01", password: password)
checkEqual(user.username, "grid.kw01")
checkEqual(user.role, .gridWorker)
checkEqual(user.roleLabel, "网格员")
checkEqual(user.scope, kwGrid)
checkEqual(client.currentUser(), user)

// wrong password, empty username: typed errors
let other = try openClient("other")
guard case let .Unauthorized(msg) = await thrown({ try await other.login(username: "grid.kw01", password: "not-the-password") })
else { fail("not Unauthorized") }
checkEqual(msg, "用户名或密码错误")
guard case .Argument = await thrown({ try await other.login(username: "", password: password) }) else { fail() }
check(other.currentUser() == nil)

// nothing listens on the discard port: Network; a bad URL: Argument
let offline = try openClient("offline", url: "http://127.0.0.1:9")
guard case .Network = await thrown({ try await offline.login(username: "grid.kw01", password: password) }) else { fail() }
guard case .Argument = await thrown({ try openClient("bad-url", url: "ftp://example.invalid") }) else { fail() }

// logout, then sync: NotLoggedIn; pending changes stay and go after the next login
let worker = try await login("grid.kw01", name: "worker")
_ = try worker.createReport(draft: reportDraft())
try await worker.logout()
check(worker.currentUser() == nil)
try await worker.logout()  // again: nothing to do
guard case .NotLoggedIn = await thrown({ try await worker.syncNow() }) else { fail() }
guard case .NotLoggedIn = await thrown({ try worker.createReport(draft: reportDraft()) }) else { fail() }
guard case .NotLoggedIn = await thrown({ try worker.listRecords(filter: RecordFilter(mineOnly: true)) }) else { fail() }
checkEqual(try worker.pendingCount(), 1)
_ = try await worker.login(username: "grid.kw01", password: password)
checkEqual(try await worker.syncNow().accepted, 1)

// another account's unsent change keeps the device theirs: OtherUsersData, signed in or out
let phone = try await login("grid.kw01", name: "shared")
let filed = try phone.createReport(draft: reportDraft())
guard case let .OtherUsersData(otherMsg) = await thrown({ try await phone.login(username: "officer.kuiwen", password: password) })
else { fail("not OtherUsersData") }
check(otherMsg.contains("其他用户"), otherMsg)
checkEqual(phone.currentUser()?.username, "grid.kw01")
try await phone.logout()
guard case .OtherUsersData = await thrown({ try await phone.login(username: "officer.kuiwen", password: password) }) else { fail() }
check(phone.currentUser() == nil)
checkEqual(try phone.pendingCount(), 1)
_ = try await phone.login(username: "grid.kw01", password: password)
checkEqual(try await phone.syncNow().accepted, 1)
try await phone.logout()
checkEqual(try await phone.login(username: "officer.kuiwen", password: password).username, "officer.kuiwen")
let gone = try phone.getRecord(id: filed.id)
check(gone == nil)  // the next account starts clean

// reference data: none before the first login
let fresh = try openClient("fresh")
guard case .NoReferenceData = await thrown({ try fresh.orgChildren(parent: nil) }) else { fail() }
guard case .NoReferenceData = await thrown({ try fresh.categories() }) else { fail() }
guard case .NoReferenceData = await thrown({ try fresh.createReport(draft: reportDraft()) }) else { fail() }
guard case .NotLoggedIn = await thrown({ try await fresh.syncNow() }) else { fail() }
_ = try await fresh.login(username: "grid.kw01", password: password)
let top = try fresh.orgChildren()
checkEqual(top.count, 1)
checkEqual(top[0].code, "370700")
checkEqual(top[0].level, .city)
check(top[0].parent == nil)
let districts = try fresh.orgChildren(parent: "370700")
check(districts.contains { $0.code == "370705" })
let grids = try fresh.orgChildren(parent: kwCommunity)
check(grids.contains { $0.code == kwGrid })
check(grids.allSatisfy { $0.level == .grid && $0.parent == kwCommunity })
checkEqual(try fresh.orgChildren(parent: "no-such-org"), [])
let manhole = try fresh.categories().first { $0.code == "09006" }
check(manhole != nil && !manhole!.name.isEmpty && [.matter, .component].contains(manhole!.kind))
// A grid worker issues no notices, so holds no numbers.
checkEqual(try fresh.numbersLeft(), 0)
guard case .NoNumbers = await thrown({ try fresh.nextNoticeNumber() }) else { fail() }

// The app's key store signs; one that fails stops the sign-in (nothing unsigned is sent).
// Without one the key lives in the device database: 64 hex digits, the same each time.
final class LockedKeyStore: DeviceKeyStore, @unchecked Sendable {
    func publicKey() throws -> Data { throw KeyStoreError.Failed(msg: "keystore locked") }
    func sign(message: Data) throws -> Data { throw KeyStoreError.Failed(msg: "keystore locked") }
}
let locked = try openClient("locked")
locked.setKeyStore(keys: LockedKeyStore())
guard case .KeyStore = await thrown({ try await locked.login(username: "grid.kw01", password: password) })
else { fail("not KeyStore") }
check(locked.currentUser() == nil)
checkEqual(try worker.deviceKey().count, 64)
checkEqual(try worker.deviceKey(), try worker.deviceKey())

finish("login")
