package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.security.KeyPairGenerator
import java.security.Signature

/**
 * The app keeps the device's signing key (Android Keystore on a phone; the JDK's Ed25519
 * here) and gives the client a DeviceKeyStore: the key registered at sign-in signs every
 * change; a failing key store stops the sign-in or the sync, and nothing goes out unsigned.
 */
class JdkKeyStore : DeviceKeyStore {
    private val pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair()
    @Volatile var broken = false
    @Volatile var signed = 0

    override fun publicKey(): ByteArray {
        if (broken) throw KeyStoreException.Failed("keystore locked")
        // X.509 SubjectPublicKeyInfo: the raw 32-byte key is its tail.
        return pair.public.encoded.takeLast(32).toByteArray()
    }

    override fun sign(message: ByteArray): ByteArray {
        if (broken) throw KeyStoreException.Failed("keystore locked")
        signed++
        return Signature.getInstance("Ed25519").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }
}

class KeyStoreTest : ServerTest() {
    @Test
    fun `the app's key store signs every change`() = runBlocking {
        val keys = JdkKeyStore()
        val officer = open("officer")
        officer.setKeyStore(keys)
        keys.broken = true
        assertGridwork<GridworkException.KeyStore> { officer.login("officer.kuiwen", PASSWORD) }
        keys.broken = false
        officer.login("officer.kuiwen", PASSWORD)
        assertEquals(keys.publicKey().joinToString("") { "%02x".format(it) }, officer.deviceKey())
        officer.createNotice(noticeDraft())
        keys.broken = true
        assertGridwork<GridworkException.KeyStore> { officer.syncNow() }
        assertEquals(1L, officer.pendingCount())
        keys.broken = false
        assertEquals(1L, officer.syncNow().accepted)
        assertTrue(keys.signed >= 1)
    }
}
