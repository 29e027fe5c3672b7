package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test

class SyncTest : ServerTest() {
    @Test
    fun `a Kotlin SyncListener gets the events until its handle is cancelled`() = runBlocking {
        val worker = login("grid.kw01")
        val recorder = Recorder()
        val handle = worker.subscribe(recorder)
        assertFalse(handle.isCancelled())
        worker.createReport(reportDraft())
        worker.createServiceLog(serviceLogDraft())
        worker.syncNow()
        val phases = recorder.events.map { it.phase }
        assertEquals(SyncPhase.PUSHING, phases.first())
        assertEquals(SyncPhase.DONE, phases.last())
        assertTrue(SyncPhase.PULLING in phases)
        val pushing = recorder.events.filter { it.phase == SyncPhase.PUSHING }
        assertEquals(2L, pushing.last().pushed)
        assertEquals(2L, pushing.last().pushTotal)
        assertTrue(recorder.events.last().pulled > 0L)

        // A listener that throws does not break the sync.
        var thrown = false
        val angry = worker.subscribe(Recorder { if (!thrown) { thrown = true; throw IllegalStateException("listener bug (expected in this test)") } })
        worker.createReport(reportDraft())
        assertEquals(1L, worker.syncNow().accepted)
        angry.cancel()
        assertTrue(thrown)

        val seen = recorder.events.size
        handle.cancel()
        handle.cancel() // harmless
        assertTrue(handle.isCancelled())
        worker.createReport(reportDraft())
        worker.syncNow()
        assertEquals(seen, recorder.events.size)

        // Closing the handle (what the cleaner does for a dropped one) unsubscribes too.
        val dropped = Recorder()
        worker.subscribe(dropped).close()
        worker.syncNow()
        assertEquals(0, dropped.events.size)
    }

    @Test
    fun `cancel a sync mid-push three ways, then complete without duplicates`() = runBlocking {
        val n = 1200
        val officer = login("officer.kuiwen2")
        repeat(n) { i -> officer.createReport(reportDraft(description = "批量上报 %04d".format(i))) }
        assertEquals(n.toLong(), officer.pendingCount())

        // 1. cancelSync from the listener once the first push batch is confirmed.
        var handle = officer.subscribe(Recorder { p ->
            if (p.phase == SyncPhase.PUSHING && p.pushed > 0L) officer.cancelSync()
        })
        assertGridwork<GridworkException.Cancelled> { officer.syncNow() }
        handle.cancel()
        val left = officer.pendingCount()
        assertTrue(left > 0L && left < n.toLong(), "left $left")

        // 2. Cancel the coroutine (Job.cancel) after the next batch. The listener runs inside
        //    the Rust future's poll on this runBlocking thread, so the cancel takes effect at
        //    the coroutine's next suspension, before any further batch.
        val testThread = Thread.currentThread()
        lateinit var job: Job
        val recorder = Recorder { p -> if (p.phase == SyncPhase.PUSHING && p.pushed > 0L) job.cancel() }
        handle = officer.subscribe(recorder)
        job = launch(start = CoroutineStart.LAZY) { officer.syncNow() }
        job.start()
        job.join()
        assertTrue(job.isCancelled)
        handle.cancel()
        assertTrue(recorder.threads.all { it === testThread }, "listener ran on ${recorder.threads.toSet()}")
        val left2 = officer.pendingCount()
        assertTrue(left2 > 0L && left2 < left, "left $left2 of $left")

        // 3. withTimeout around the suspend call: whether it fires mid-push or not, nothing breaks.
        withTimeoutOrNull(30) { officer.syncNow() }
        assertTrue(officer.pendingCount() <= left2)

        // 4. The next sync completes the work.
        officer.syncNow()
        assertEquals(0L, officer.pendingCount())
        assertEquals(emptyList<RejectedChange>(), officer.rejectedChanges())
        val mine = officer.allRecords(kind = RecordKind.REPORT, mineOnly = true)
        assertEquals(n, mine.size)
        assertTrue(mine.all { it.syncState == SyncState.SYNCED })

        val admin = login("admin")
        admin.syncNow()
        val author = officer.currentUser()!!.id
        val theirs = admin.allRecords(kind = RecordKind.REPORT).filter { it.author == author }
        assertEquals(n, theirs.size)
        assertEquals((0 until n).map { "批量上报 %04d".format(it) }, theirs.map { it.report.description }.sorted())
    }
}
