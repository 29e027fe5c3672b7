// Pure Foundation (no Security/UIKit): the database key's text form. Also compiled and run
// on Linux by ffi/tests/swift/run.sh (as a helper of ios_glue.swift).
import Foundation

public enum KeyHex {
    /// Bytes of a raw SQLCipher key.
    public static let keyBytes = 32

    /// 64 lowercase hex digits, the raw-key form `GridworkClient.open(dbKey:)` takes.
    public static func encode(_ key: [UInt8]) -> String? {
        guard key.count == keyBytes else { return nil }
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(key.count * 2)
        for b in key {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return out
    }
}
