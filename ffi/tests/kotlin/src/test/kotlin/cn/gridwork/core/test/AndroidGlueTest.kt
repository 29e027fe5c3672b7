package cn.gridwork.core.test

import cn.gridwork.android.SyncOutcome
import cn.gridwork.android.WrappedKey
import cn.gridwork.android.networkKind
import cn.gridwork.android.syncOutcome
import cn.gridwork.android.toKeyHex
import cn.gridwork.core.GridworkException
import cn.gridwork.core.NetworkKind
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.spec.GCMParameterSpec

/** The parts of android/gridwork that need no Android classes, on the JVM with the real core. */
class AndroidGlueTest : ServerTest() {
    @Test
    fun `a Keystore-style wrapped key opens the encrypted database as 64 hex digits`() {
        val raw = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val hex = raw.toKeyHex()
        assertTrue(Regex("[0-9a-f]{64}").matches(hex))
        assertEquals(ByteArray(32) { 0x0f }.toKeyHex(), "0f".repeat(32))
        assertThrows<IllegalArgumentException> { ByteArray(16).toKeyHex() }

        // The same AES-GCM wrapping DatabaseKey does with the Keystore key, here with a JCE key.
        val wrapping = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        val enc = Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.ENCRYPT_MODE, wrapping) }
        val stored = WrappedKey(enc.iv, enc.doFinal(raw)).encode()
        val back = WrappedKey.decode(stored)
        val dec = Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.DECRYPT_MODE, wrapping, GCMParameterSpec(128, back.iv)) }
        val unwrapped = dec.doFinal(back.ciphertext).toKeyHex()
        assertEquals(hex, unwrapped)

        val device = open("keyed", key = hex).use { it.deviceId() }
        assertEquals(device, open("keyed", key = unwrapped).deviceId())
        assertGridwork<GridworkException.WrongKey> { open("keyed", key = ByteArray(32).toKeyHex()) }
    }

    @Test
    fun `SyncWorker retries network failures only`() = runBlocking {
        assertEquals(SyncOutcome.SUCCESS, syncOutcome(null))
        val offline = open("offline", url = "http://127.0.0.1:9")
        val network = assertGridwork<GridworkException.Network> { offline.login("grid.kw01", PASSWORD) }
        assertEquals(SyncOutcome.RETRY, syncOutcome(network))
        val notLoggedIn = assertGridwork<GridworkException.NotLoggedIn> { offline.syncNow() }
        assertEquals(SyncOutcome.SUCCESS, syncOutcome(notLoggedIn))
        assertEquals(SyncOutcome.RETRY, syncOutcome(GridworkException.Cancelled("同步已取消")))
        assertEquals(NetworkKind.UNMETERED, networkKind(notMetered = true))
        assertEquals(NetworkKind.METERED, networkKind(notMetered = false))
    }
}
