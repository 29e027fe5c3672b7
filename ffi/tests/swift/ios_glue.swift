// The Foundation-only part of ios/ (KeyHex, staged here as _KeyHex.swift by run.sh): a random
// 32-byte key as 64 hex digits opens an encrypted database; another key is WrongKey.
import Foundation
import Gridwork

checkEqual(KeyHex.encode([UInt8](repeating: 0xab, count: 32)), String(repeating: "ab", count: 32))
checkEqual(KeyHex.encode([0x00, 0x0f, 0xf0, 0xff] + [UInt8](repeating: 0, count: 28))?.prefix(8), "000ff0ff")
check(KeyHex.encode([1, 2, 3]) == nil)

var bytes = [UInt8](repeating: 0, count: 32)
for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
let key = KeyHex.encode(bytes)!
var device = ""
do { device = try openClient("keyed", key: key).deviceId() }
checkEqual(try openClient("keyed", key: key).deviceId(), device)
guard case .WrongKey = await thrown({ try openClient("keyed", key: KeyHex.encode([UInt8](repeating: 0, count: 32))) })
else { fail() }

finish("ios_glue")
