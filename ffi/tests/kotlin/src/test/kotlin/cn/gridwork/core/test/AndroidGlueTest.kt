package cn.gridwork.core.test

import cn.gridwork.android.InitOnce
import cn.gridwork.android.OneShotJoin
import cn.gridwork.android.OneShotState
import cn.gridwork.android.SyncOutcome
import cn.gridwork.android.WrappedKey
import cn.gridwork.android.network
import cn.gridwork.android.oneShotJoin
import cn.gridwork.android.syncOutcome
import cn.gridwork.android.toKeyHex
import cn.gridwork.core.GridworkException
import cn.gridwork.core.Network
import cn.gridwork.core.SyncPhase
import cn.gridwork.core.SyncState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
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
        assertEquals(Network.UNMETERED, network(notMetered = true))
        assertEquals(Network.METERED, network(notMetered = false))
    }

    @Test
    fun `sync now while a sync runs is queued after it, and at most one waits`() {
        val (waiting, running, finished) = Triple(OneShotState.WAITING, OneShotState.RUNNING, OneShotState.FINISHED)
        // Nothing unfinished: start one (APPEND_OR_REPLACE starts a fresh chain, replacing a failed one).
        assertEquals(OneShotJoin.APPEND, oneShotJoin(emptyList()))
        assertEquals(OneShotJoin.APPEND, oneShotJoin(listOf(finished, finished)))
        // A running sync may be past its push: the request must run after it, not be dropped (the old KEEP).
        assertEquals(OneShotJoin.APPEND, oneShotJoin(listOf(running)))
        assertEquals(OneShotJoin.APPEND, oneShotJoin(listOf(finished, running)))
        // A sync that has not started yet sends the new records too: keep it, queue nothing more.
        assertEquals(OneShotJoin.KEEP, oneShotJoin(listOf(waiting)))
        assertEquals(OneShotJoin.KEEP, oneShotJoin(listOf(running, waiting)))
        assertEquals(OneShotJoin.KEEP, oneShotJoin(listOf(finished, running, waiting)))
    }

    @Test
    fun `a sync asked for while one runs is not lost`() = runBlocking {
        // What the appended work does: a second syncNow while the first runs waits for it, then
        // runs and sends a record filed after the first one's push.
        val worker = login("grid.wc01") // an account no other test counts the records of
        repeat(50) { worker.createReport(reportDraft(grid = WC_GRID, description = "批量 $it")) }
        val pushedOnce = CountDownLatch(1)
        val handle = worker.subscribe(Recorder { p -> if (p.phase == SyncPhase.PULLING) pushedOnce.countDown() })
        val first = async(Dispatchers.IO) { worker.syncNow() }
        check(pushedOnce.await(60, TimeUnit.SECONDS)) { "the first sync never reached its pull" }
        val late = worker.createReport(reportDraft(grid = WC_GRID, description = "推送阶段之后补录"))
        val second = async(Dispatchers.IO) { worker.syncNow() }
        val (a, b) = awaitAll(first, second)
        handle.cancel()
        assertEquals(50L, a.pushed)
        assertEquals(1L, b.pushed)
        assertEquals(0L, worker.pendingCount())
        assertEquals(SyncState.SYNCED, worker.getRecord(late.id)!!.record.syncState)
    }

    @Test
    fun `the TLS init runs once per process, and again after a failure`() {
        val calls = AtomicInteger()
        var fail = true
        val once = InitOnce<String> { arg ->
            calls.incrementAndGet()
            assertEquals("context", arg)
            if (fail) throw RuntimeException("Rust error: no class loader")
        }
        assertThrows<RuntimeException> { once.ensure("context") }
        assertFalse(once.isDone)
        fail = false
        val pool = Executors.newFixedThreadPool(8)
        val start = CountDownLatch(1)
        val done = (1..32).map { pool.submit { start.await(); once.ensure("context") } }
        start.countDown()
        done.forEach { it.get(10, TimeUnit.SECONDS) }
        pool.shutdown()
        assertTrue(once.isDone)
        assertEquals(2, calls.get()) // the failed call and one successful call, whatever the threads did
        once.ensure("context")
        assertEquals(2, calls.get())
    }
}
