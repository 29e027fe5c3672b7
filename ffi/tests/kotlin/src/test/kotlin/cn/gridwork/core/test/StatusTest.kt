package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test

/** Record status as enums, numbers as signed types, odd input as typed errors. */
class StatusTest : ServerTest() {
    @Test
    fun `status is an enum both ways, and a status of another kind is refused`() = runBlocking {
        val officer = login("officer.kuiwen")
        val notice = officer.createNotice(noticeDraft())
        val report = officer.createReport(reportDraft())
        assertEquals(RecordStatus.Notice(NoticeStatus.ISSUED), notice.status)

        // 已告知 → 逾期未整改 → 已移交立案 → 已整改, each read back as the same value.
        val steps = listOf(NoticeStatus.OVERDUE to "逾期未整改", NoticeStatus.ESCALATED to "已移交立案", NoticeStatus.RECTIFIED to "已整改")
        for ((step, label) in steps) {
            val status = RecordStatus.Notice(step)
            val shown = officer.setStatus(notice.id, status)
            assertEquals(status to label, shown.status to shown.statusLabel)
            assertEquals(status, officer.getRecord(notice.id)!!.record.status)
        }
        // What a screen does with it: an exhaustive `when`, no string codes.
        val badge = when (val s = officer.getRecord(notice.id)!!.record.status) {
            is RecordStatus.Notice -> if (s.status == NoticeStatus.RECTIFIED) "closed" else "open"
            is RecordStatus.Report, is RecordStatus.ServiceLog, is RecordStatus.Case -> "other"
        }
        assertEquals("closed", badge)
        assertEquals("已整改", officer.updateNotice(notice.id, NoticeEdit(status = NoticeStatus.RECTIFIED)).statusLabel)

        // A status of another kind: Invalid with KIND_MISMATCH; nothing is queued.
        val pending = officer.pendingCount()
        val wrongKind = listOf(
            report.id to RecordStatus.Notice(NoticeStatus.RECTIFIED),
            notice.id to RecordStatus.Report(ReportStatus.ACCEPTED),
            notice.id to RecordStatus.ServiceLog(ServiceLogStatus.DONE),
        )
        for ((id, status) in wrongKind) {
            val e = assertGridwork<GridworkException.Invalid> { officer.setStatus(id, status) }
            assertEquals(RejectReason.KIND_MISMATCH, e.reason)
            assertTrue(e.msg.isNotEmpty())
        }
        // Its own kind, but a move the state machine does not allow: INVALID_TRANSITION.
        val back = assertGridwork<GridworkException.Invalid> { officer.setStatus(notice.id, RecordStatus.Notice(NoticeStatus.ISSUED)) }
        assertEquals(RejectReason.INVALID_TRANSITION, back.reason)
        assertEquals("status", back.field)
        assertEquals(pending, officer.pendingCount())

        officer.syncNow()
        val admin = login("admin")
        admin.syncNow()
        val rectified = RecordStatus.Notice(NoticeStatus.RECTIFIED)
        assertEquals(rectified, admin.getRecord(notice.id)!!.record.status)
        val listed = admin.listRecords(RecordFilter(status = rectified, limit = 1000))
        assertTrue(notice.id in listed.map { it.id })
        assertTrue(listed.all { it.kind == RecordKind.NOTICE && it.status == rectified })
    }

    @Test
    fun `counts and sizes are Long, small numbers Int, negative input a typed error`() = runBlocking {
        val worker = login("grid.kw01")
        val log = worker.createServiceLog(serviceLogDraft(participants = 12))
        // The declared types are the check: these lines compile only with Long and Int.
        val participants: Int = log.serviceLog.participants
        val pending: Long = worker.pendingCount()
        val records: Long = worker.recordCount()
        val queue: PhotoQueue = worker.photoQueue()
        val queued: Long = queue.count
        val queuedBytes: Long = queue.bytes
        assertEquals(12, participants)
        assertEquals(listOf(1L, 1L, 0L, 0L), listOf(pending, records, queued, queuedBytes))
        val summary = worker.syncNow()
        val sent: Long = summary.bytesSent
        val trips: Long = summary.roundTrips
        assertTrue(sent > 0 && trips > 0)
        val seq: Long? = worker.getRecord(log.id)!!.record.seq
        assertTrue(seq!! > 0)
        val freed: Long = worker.freePhotoSpace()
        assertEquals(0L, freed)

        for (call in listOf<() -> Unit>(
            { worker.createServiceLog(serviceLogDraft(participants = -1)) },
            { worker.createServiceLog(serviceLogDraft(participants = Int.MIN_VALUE)) },
            { worker.updateServiceLog(log.id, ServiceLogEdit(participants = -3)) },
        )) {
            val e = assertGridwork<GridworkException.Argument> { call() }
            assertTrue("participants" in e.msg, e.msg)
        }
        // Too many is the core's own rule: Invalid, on the field.
        val tooMany = assertGridwork<GridworkException.Invalid> { worker.updateServiceLog(log.id, ServiceLogEdit(participants = Int.MAX_VALUE)) }
        assertEquals("participants", tooMany.field)
        assertEquals(0L, worker.pendingCount())
    }

    @Test
    fun `no unsigned type anywhere in the API`() {
        // Kotlin's unsigned types are inline classes: a JVM method that takes or returns one
        // gets a mangled name (`pendingCount-s-VKNKU`), and so does a property getter.
        fun Class<*>.withNested(): List<Class<*>> = listOf(this) + declaredClasses.flatMap { it.withNested() }
        val api = listOf(
            GridworkClientInterface::class.java, TaskHandleInterface::class.java, SyncListener::class.java,
            User::class.java, Location::class.java, Party::class.java, OrgUnit::class.java, Category::class.java,
            ReportDraft::class.java, NoticeDraft::class.java, ServiceLogDraft::class.java,
            ReportEdit::class.java, NoticeEdit::class.java, ServiceLogEdit::class.java,
            RecordView::class.java, RecordBody::class.java, RecordStatus::class.java, RecordDetail::class.java,
            HistoryEntry::class.java, RecordFilter::class.java, RejectedChange::class.java,
            SyncSummary::class.java, SyncProgressInfo::class.java, PhotoInfo::class.java, PhotoQueue::class.java,
            CaseDraft::class.java, CaseSource::class.java, CaseAction::class.java, CaseEvent::class.java,
            ExtensionRequest::class.java, Assignee::class.java, CaseStatus::class.java,
            GridworkException::class.java,
        ).flatMap { it.withNested() }
        val mangled = api.flatMap { c -> c.declaredMethods.filter { '-' in it.name }.map { "${c.name}.${it.name}" } }
        assertEquals(emptyList<String>(), mangled)
        val server = GridworkException.Server(status = 503, code = "unavailable", msg = "服务器错误（503 unavailable）")
        val status: Int = server.status
        assertEquals(503, status)
    }

    @Test
    fun `odd strings are typed errors, never a panic`() = runBlocking {
        // 64 bytes that are not 64 hex digits (multi-byte characters): a passphrase.
        val wide = "密".repeat(21) + "x"
        assertEquals(64, wide.toByteArray().size)
        val device = open("wide", key = wide).use { it.deviceId() }
        assertEquals(device, open("wide", key = wide).deviceId())
        assertGridwork<GridworkException.WrongKey> { open("wide", key = "密".repeat(21) + "y") }

        val worker = login("grid.kw01")
        val report = worker.createReport(reportDraft())
        for (s in listOf("", " ", "é".repeat(64), "密".repeat(22), "\u0000".repeat(64), "0".repeat(63) + "é")) {
            assertNull(worker.photoFile(s, false))
            assertGridwork<GridworkException> { worker.getRecord(s) }
            assertGridwork<GridworkException> { worker.detachPhoto(report.id, s) }
            assertGridwork<GridworkException> { worker.createReport(reportDraft(grid = s)) }
            assertGridwork<GridworkException> { worker.createNotice(noticeDraft(deadline = s)) }
            assertGridwork<GridworkException> { worker.fetchPhoto(s, false) }
            try {
                worker.orgChildren(s)
            } catch (e: GridworkException) {
                // a typed error is fine too
            }
        }
        assertEquals(1L, worker.pendingCount())
    }
}
