package cn.gridwork.android

// Pure Kotlin (no Android classes): the database key's formats. Compiled on the JVM by the
// project's checks; the Keystore part is in DatabaseKey.kt.

/** Bytes of a raw SQLCipher key. */
const val DB_KEY_BYTES = 32

/** AES-GCM nonce length used to wrap the key. */
const val GCM_IV_BYTES = 12

/** The key as `GridworkClient.open` takes a raw key: 64 lowercase hex digits. */
fun ByteArray.toKeyHex(): String {
    require(size == DB_KEY_BYTES) { "a database key has $DB_KEY_BYTES bytes, not $size" }
    val digits = "0123456789abcdef"
    val out = StringBuilder(size * 2)
    for (b in this) {
        val v = b.toInt() and 0xff
        out.append(digits[v ushr 4]).append(digits[v and 0x0f])
    }
    return out.toString()
}

/** What is stored: IV followed by the AES-GCM ciphertext (with its tag) of the raw key. */
class WrappedKey(val iv: ByteArray, val ciphertext: ByteArray) {
    init {
        require(iv.size == GCM_IV_BYTES) { "bad IV length ${iv.size}" }
        require(ciphertext.size == DB_KEY_BYTES + 16) { "bad wrapped key length ${ciphertext.size}" }
    }

    fun encode(): ByteArray = iv + ciphertext

    companion object {
        fun decode(stored: ByteArray): WrappedKey =
            WrappedKey(stored.copyOfRange(0, GCM_IV_BYTES), stored.copyOfRange(GCM_IV_BYTES, stored.size))
    }
}
