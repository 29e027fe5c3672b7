// 扫码登录: a phone signs in by the QR text of a one-time enrolment code (run.sh makes one
// for grid.kw01 as `enrolQR`), syncs, and the code works only once.
import Foundation
import Gridwork

// The app reads the server from the QR code, opens the client on it, then enrols.
let url = try enrolServer(qrText: enrolQR)
checkEqual(url.trimmingCharacters(in: CharacterSet(charactersIn: "/")),
           serverURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
let phone = try openClient("phone", url: url)
check(phone.currentUser() == nil)
let user = try await phone.enrol(qrText: enrolQR)
checkEqual(user.username, "grid.kw01")
checkEqual(user.role, .gridWorker)
checkEqual(phone.currentUser(), user)
let made = try phone.createReport(draft: reportDraft(description: "扫码登录后上报"))
checkEqual(try await phone.syncNow().accepted, 1)
let other = try await login("grid.kw01", name: "other")
_ = try await other.syncNow()
let seen = try other.getRecord(id: made.id)
check(seen != nil, "the enrolled phone's record reached the server")

// Spent: a second use is refused like an unknown code.
let thief = try openClient("thief")
guard case let .Unauthorized(msg) = await thrown({ try await thief.enrol(qrText: enrolQR) }) else { fail("not Unauthorized") }
check(msg.contains("登录码"), msg)
check(thief.currentUser() == nil)
// Anything but an enrolment link is Argument, and nothing is sent.
guard case .Argument = await thrown({ try await thief.enrol(qrText: "https://example.cn/public/stalls/KW-XLP-007") }) else { fail() }
let far = "gridwork://enrol?server=http%3A%2F%2F10.0.0.5&code=ABCD"
guard case .Argument = await thrown({ try enrolServer(qrText: far) }) else { fail() }
checkEqual(try enrolServer(qrText: far, allowInsecure: true), "http://10.0.0.5")

finish("enrol")
