#if canImport(Security)
import Foundation
import Security

/// The device database key: 32 random bytes made on first use and kept in the Keychain
/// (generic password, `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: readable by
/// background sync once the phone was unlocked after boot, never restored to another device).
/// `hex()` gives the 64 hex digits `GridworkClient.open(dbPath:serverUrl:dbKey:)` takes.
///
/// If the item is gone (app deleted and reinstalled on a device that kept the file, which iOS
/// does not do, or a restore), `open` throws `GridworkError.WrongKey`: delete the database and
/// log in again.
public enum DatabaseKey {
    public enum KeyError: Error { case keychain(OSStatus), random(OSStatus) }

    static let service = "cn.gridwork.dbkey"
    static let account = "device.db"

    public static func hex() throws -> String {
        if let existing = try read() { return KeyHex.encode(existing)! }
        var bytes = [UInt8](repeating: 0, count: KeyHex.keyBytes)
        let rc = SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes)
        guard rc == errSecSuccess else { throw KeyError.random(rc) }
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: Data(bytes),
        ]
        let status = SecItemAdd(add as CFDictionary, nil)
        if status == errSecDuplicateItem, let raced = try read() { return KeyHex.encode(raced)! }
        guard status == errSecSuccess else { throw KeyError.keychain(status) }
        return KeyHex.encode(bytes)!
    }

    private static func read() throws -> [UInt8]? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = item as? Data, data.count == KeyHex.keyBytes else {
            throw KeyError.keychain(status)
        }
        return [UInt8](data)
    }
}
#endif
