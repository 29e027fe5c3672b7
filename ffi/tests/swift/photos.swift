// Photos: attach, upload by policy and network, the admin fetches a file with the same SHA-256.
import Foundation
import Gridwork

func write(_ data: Data, _ name: String) -> String {
    let path = testDir.appendingPathComponent(name).path
    check(FileManager.default.createFile(atPath: path, contents: data))
    return path
}

check(sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

let worker = try await login("grid.kw01")
try worker.setPhotoPolicy(policy: .unmeteredOnly)
checkEqual(worker.photoPolicy(), .unmeteredOnly)
worker.setNetwork(network: .metered)

let report = try worker.createReport(draft: reportDraft(description: "垃圾桶满溢，附照片"))
let photo = try worker.attachPhoto(recordId: report.id, filePath: write(greenJpeg, "a.jpg"), stage: .before)
checkEqual(photo.mime, "image/jpeg")
checkEqual([photo.width, photo.height], [32, 24])
checkEqual(photo.stage, .before)
checkEqual(photo.stageLabel, "整改前")
let size: Int64 = photo.bytes
check(size > 0)
check(photo.takenAt == nil)
let local = worker.photoFile(sha256: photo.sha256, thumb: false)!
checkEqual(sha256Hex(file: local), photo.sha256)
checkEqual(try worker.getRecord(id: report.id)!.record.photos, [photo])
checkEqual(try worker.photoQueue(), PhotoQueue(count: 1, bytes: photo.bytes))

// Metered network, unmetered-only policy: the record goes, the photo waits.
let metered = try await worker.syncNow()
checkEqual(metered.photosUploaded, 0)
checkEqual(try worker.photoQueue().count, 1)
let admin = try await login("admin")
_ = try await admin.syncNow()
checkEqual(try admin.getRecord(id: report.id)!.record.photos, [photo])
guard case .PhotoPending = await thrown({ try await admin.fetchPhoto(sha256: photo.sha256, thumb: false) }) else { fail() }

// uploadPhotos() sends them whatever the policy.
checkEqual(try await worker.uploadPhotos().photosUploaded, 1)
checkEqual(try worker.photoQueue(), PhotoQueue(count: 0, bytes: 0))

// On an unmetered network the sync uploads.
let second = try worker.createReport(draft: reportDraft(description: "整改后复查"))
let after = try worker.attachPhoto(recordId: second.id, filePath: write(blueJpeg, "b.jpg"), stage: .after)
worker.setNetwork(network: .unmetered)
checkEqual(try await worker.syncNow().photosUploaded, 1)

_ = try await admin.syncNow()
for p in [photo, after] {
    let path = try await admin.fetchPhoto(sha256: p.sha256, thumb: false)
    checkEqual(sha256Hex(file: path), p.sha256)
    let thumb = try await admin.fetchPhoto(sha256: p.sha256, thumb: true)
    check(FileManager.default.fileExists(atPath: thumb))
}

// Uploaded: the worker may free the full-size files, and fetch them back.
let freed = try worker.freePhotoSpace()
check(freed >= photo.bytes + after.bytes, "freed \(freed)")
check(worker.photoFile(sha256: photo.sha256, thumb: false) == nil)
checkEqual(sha256Hex(file: try await worker.fetchPhoto(sha256: photo.sha256, thumb: false)), photo.sha256)
checkEqual(try worker.detachPhoto(recordId: report.id, sha256: photo.sha256).photos, [])

// Bad photos are typed errors.
guard case let .Photo(code, _) = await thrown({ try worker.attachPhoto(recordId: report.id, filePath: write(Data("hello".utf8), "x.jpg"), stage: nil) })
else { fail() }
check(code.hasPrefix("photo_"), code)
guard case .Argument = await thrown({ try worker.attachPhoto(recordId: "not-a-uuid", filePath: write(greenJpeg, "c.jpg"), stage: nil) })
else { fail() }
guard case .Argument = await thrown({ try await worker.fetchPhoto(sha256: "xyz", thumb: false) }) else { fail() }

finish("photos")
