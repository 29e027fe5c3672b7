package cn.gridwork.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The device database key: 32 random bytes made on first use, kept wrapped (AES-256-GCM) by a
 * non-exportable Android Keystore key; the wrapped form lives in SharedPreferences. The raw
 * key only exists in memory, as the 64 hex digits `GridworkClient.open` takes.
 *
 * Losing the Keystore key (app data cleared, device reset) makes the database unreadable
 * (`GridworkException.WrongKey`): the app then deletes it and logs in again; records not yet
 * synced are lost, which is why the app syncs often.
 */
object DatabaseKey {
    private const val KEYSTORE = "AndroidKeyStore"
    private const val ALIAS = "cn.gridwork.dbkey.wrap"
    private const val PREFS = "cn.gridwork.dbkey"
    private const val PREF_WRAPPED = "wrapped"

    /** The key as 64 hex digits, created and stored on first call. */
    @Synchronized
    fun hex(context: Context): String {
        val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        val stored = prefs.getString(PREF_WRAPPED, null)
        if (stored != null) {
            val wrapped = WrappedKey.decode(Base64.decode(stored, Base64.NO_WRAP))
            return unwrap(wrapped).let { raw -> try { raw.toKeyHex() } finally { raw.fill(0) } }
        }
        val raw = ByteArray(DB_KEY_BYTES).also { SecureRandom().nextBytes(it) }
        try {
            val wrapped = wrap(raw)
            // commit(), not apply(): the key must be on disk before the database is created with it.
            check(prefs.edit().putString(PREF_WRAPPED, Base64.encodeToString(wrapped.encode(), Base64.NO_WRAP)).commit()) {
                "could not store the database key"
            }
            return raw.toKeyHex()
        } finally {
            raw.fill(0)
        }
    }

    private fun wrappingKey(): SecretKey {
        val keyStore = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (keyStore.getEntry(ALIAS, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                // Background sync runs while the phone is locked: no user authentication.
                .setUserAuthenticationRequired(false)
                .build(),
        )
        return generator.generateKey()
    }

    private fun wrap(raw: ByteArray): WrappedKey {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey()) // the Keystore picks the IV
        return WrappedKey(cipher.iv, cipher.doFinal(raw))
    }

    private fun unwrap(wrapped: WrappedKey): ByteArray {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, wrapped.iv))
        return cipher.doFinal(wrapped.ciphertext)
    }
}
