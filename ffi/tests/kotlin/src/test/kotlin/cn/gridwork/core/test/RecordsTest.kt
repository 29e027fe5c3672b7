package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.time.Instant

class RecordsTest : ServerTest() {
    @Test
    fun `file offline, sync, and the admin sees every field`() = runBlocking {
        val officer = login("officer.kuiwen")
        val report = officer.createReport(reportDraft())
        val notice = officer.createNotice(noticeDraft())
        val log = officer.createServiceLog(serviceLogDraft())
        assertEquals(3L, officer.pendingCount())
        assertTrue(listOf(report, notice, log).all { it.syncState == SyncState.PENDING && it.syncStateLabel == "待同步" })
        assertTrue(notice.notice.number.startsWith("奎文城管告字〔"), notice.notice.number)
        assertEquals(listOf(RecordKind.REPORT, RecordKind.NOTICE, RecordKind.SERVICE_LOG), listOf(report.kind, notice.kind, log.kind))
        assertEquals(listOf("随手拍", "不文明行为告知单", "服务日志"), listOf(report.kindLabel, notice.kindLabel, log.kindLabel))
        assertEquals(
            listOf(
                RecordStatus.Report(ReportStatus.SUBMITTED),
                RecordStatus.Notice(NoticeStatus.ISSUED),
                RecordStatus.ServiceLog(ServiceLogStatus.OPEN),
            ),
            listOf(report.status, notice.status, log.status),
        )
        assertEquals(listOf("已上报", "已告知", "待答复"), listOf(report.statusLabel, notice.statusLabel, log.statusLabel))
        assertEquals(KW_COMMUNITY, report.community)
        assertEquals(KW_GRID, report.grid)

        val summary = officer.syncNow()
        assertEquals(Triple(3L, 3L, 0L), Triple(summary.pushed, summary.accepted, summary.rejected))
        assertEquals(0L, officer.pendingCount())
        assertEquals(SyncState.SYNCED, officer.getRecord(notice.id)!!.record.syncState)

        val admin = login("admin")
        admin.syncNow()
        for (mine in listOf(report, notice, log)) {
            val theirs = admin.getRecord(mine.id)!!.record
            assertEquals(mine.body, theirs.body)
            assertEquals(mine.location, theirs.location)
            assertEquals(mine.id, theirs.id)
            assertEquals(mine.kind, theirs.kind)
            assertEquals(mine.author, theirs.author)
            assertEquals(mine.device, theirs.device)
            assertEquals(mine.community, theirs.community)
            assertEquals(mine.grid, theirs.grid)
            assertEquals(mine.status, theirs.status)
            assertEquals(mine.createdAt, theirs.createdAt)
            assertNotNull(theirs.seq)
            assertEquals(SyncState.SYNCED, theirs.syncState)
        }
        val body = admin.getRecord(notice.id)!!.record.notice
        assertEquals(Party(name = "张某", shopName = "老张水果店", phone = "13805361234"), body.party)
        assertEquals(today(3), body.deadline)
        val logBody = admin.getRecord(log.id)!!.record.serviceLog
        assertEquals(Activity.HOME_VISIT, logBody.activity)
        assertEquals(5, logBody.participants)
        assertEquals("入户走访", logBody.activityLabel)
        assertEquals(listOf("夜间烧烤油烟扰民"), logBody.complaints)
    }

    @Test
    fun `edits reach the admin with history, and the admin's edits come back`() = runBlocking {
        val officer = login("officer.kuiwen")
        // Signing in took a block of the brigade's numbers: the next is shown before it is used.
        assertEquals(100L, officer.numbersLeft())
        val number = officer.nextNoticeNumber()
        assertTrue(Regex("""奎文城管告字〔\d{4}〕第\d{6}号""").matches(number), number)
        assertEquals(number, officer.nextNoticeNumber())
        val notice = officer.createNotice(noticeDraft(number = number))
        assertEquals(number, notice.notice.number)
        assertEquals(99L, officer.numbersLeft())
        assertNotEquals(number, officer.nextNoticeNumber())
        val reused = assertGridwork<GridworkException.Invalid> { officer.createNotice(noticeDraft(number = number)) }
        assertEquals(RejectReason.NUMBER_USED, reused.reason)
        officer.syncNow()

        val edited = officer.updateNotice(notice.id, NoticeEdit(facts = "店外占道经营，已口头劝导", deadline = today(5)))
        assertEquals("店外占道经营，已口头劝导", edited.notice.facts)
        assertEquals(SyncState.PENDING, edited.syncState)
        val rectified = officer.setStatus(notice.id, RecordStatus.Notice(NoticeStatus.RECTIFIED))
        assertEquals(RecordStatus.Notice(NoticeStatus.RECTIFIED), rectified.status)
        assertEquals(NoticeStatus.RECTIFIED, (rectified.status as RecordStatus.Notice).status)
        assertEquals("已整改", rectified.statusLabel)
        assertEquals(2L, officer.pendingCount())
        officer.syncNow()

        val detail = officer.getRecord(notice.id)!!
        val local = detail.history.filterIsInstance<HistoryEntry.Local>()
        assertEquals(listOf(true, false, false), local.map { it.isCreate })
        assertTrue(local.all { it.state == "accepted" })
        assertEquals(listOf("deadline", "facts"), local[1].fields.sorted())
        assertEquals(listOf("status"), local[2].fields)
        assertEquals(detail.history.sortedBy { it.at() }, detail.history)

        val admin = login("admin")
        admin.syncNow()
        val seen = admin.getRecord(notice.id)!!
        assertEquals("店外占道经营，已口头劝导", seen.record.notice.facts)
        assertEquals(today(5), seen.record.notice.deadline)
        assertEquals(RecordStatus.Notice(NoticeStatus.RECTIFIED), seen.record.status)
        val serverEntries = seen.history.filterIsInstance<HistoryEntry.Server>()
        assertEquals(officer.currentUser()!!.id, serverEntries.last().actor)
        assertTrue(serverEntries.last().at.isBefore(Instant.now().plusSeconds(60)))

        // The admin's edit of a report reaches the officer, with the admin named in the history.
        val report = officer.createReport(reportDraft())
        officer.syncNow()
        admin.syncNow()
        admin.updateReport(report.id, ReportEdit(status = ReportStatus.ACCEPTED, description = "井盖缺失，已立案"))
        admin.syncNow()
        officer.syncNow()
        val theirs = officer.getRecord(report.id)!!
        assertEquals(RecordStatus.Report(ReportStatus.ACCEPTED), theirs.record.status)
        assertEquals("已立案", theirs.record.statusLabel)
        assertEquals("井盖缺失，已立案", theirs.record.report.description)
        val byAdmin = theirs.history.filterIsInstance<HistoryEntry.Server>().last()
        assertEquals(admin.currentUser()!!.id, byAdmin.actor)
        assertEquals(setOf("status", "description"), byAdmin.fields.toSet())

        val log = officer.createServiceLog(serviceLogDraft())
        val done =
            officer.updateServiceLog(log.id, ServiceLogEdit(status = ServiceLogStatus.DONE, participants = 8, linkedReports = listOf(report.id)))
        assertEquals(RecordStatus.ServiceLog(ServiceLogStatus.DONE), done.status)
        assertEquals(8, done.serviceLog.participants)
        assertEquals(listOf(report.id), done.serviceLog.linkedReports)
    }

    @Test
    fun `list filters`() = runBlocking {
        val worker = login("grid.kw01")
        val before = Instant.now().minusSeconds(1)
        val r1 = worker.createReport(reportDraft(description = "一"))
        val r2 = worker.createReport(reportDraft(description = "二"))
        val log = worker.createServiceLog(serviceLogDraft())
        val after = Instant.now().plusSeconds(1)
        val done = RecordStatus.ServiceLog(ServiceLogStatus.DONE)
        worker.setStatus(log.id, done)

        fun ids(rs: List<RecordView>) = rs.map { it.id }
        assertEquals(listOf(r2.id, r1.id), ids(worker.listRecords(RecordFilter(kind = RecordKind.REPORT)))) // newest first
        assertEquals(listOf(log.id), ids(worker.listRecords(RecordFilter(kind = RecordKind.SERVICE_LOG, status = done))))
        assertEquals(listOf(log.id), ids(worker.listRecords(RecordFilter(status = done)))) // the status names its kind
        val open = RecordStatus.ServiceLog(ServiceLogStatus.OPEN)
        assertEquals(emptyList<RecordView>(), worker.listRecords(RecordFilter(kind = RecordKind.SERVICE_LOG, status = open)))
        assertEquals(listOf(r2.id), ids(worker.listRecords(RecordFilter(limit = 1, offset = 1))))
        assertEquals(3, worker.listRecords(RecordFilter(mineOnly = true)).size)
        assertEquals(3, worker.listRecords(RecordFilter(createdFrom = before, createdBefore = after)).size)
        assertEquals(emptyList<RecordView>(), worker.listRecords(RecordFilter(createdBefore = before)))
        assertEquals(3L, worker.recordCount())

        worker.syncNow() // pulls the demo records of the grid
        val me = worker.currentUser()!!.id
        val everyone = worker.allRecords()
        assertEquals(minOf(everyone.size, 100), worker.listRecords(RecordFilter()).size) // default page: 100
        assertEquals(worker.recordCount(), everyone.size.toLong())
        assertTrue(everyone.size > 3)
        val mine = worker.listRecords(RecordFilter(mineOnly = true))
        assertEquals(setOf(me), mine.map { it.author }.toSet())
        assertTrue(ids(mine).containsAll(listOf(r1.id, r2.id, log.id)))
        assertEquals(everyone.count { it.author == me }, mine.size)

        // A status of another kind than the filter's, a negative page: typed errors.
        val submitted = RecordStatus.Report(ReportStatus.SUBMITTED)
        val wrongKind = assertGridwork<GridworkException.Argument> { worker.listRecords(RecordFilter(kind = RecordKind.NOTICE, status = submitted)) }
        assertTrue("status" in wrongKind.msg, wrongKind.msg)
        assertGridwork<GridworkException.Argument> { worker.listRecords(RecordFilter(limit = -1)) }
        assertGridwork<GridworkException.Argument> { worker.listRecords(RecordFilter(offset = -1)) }
        assertGridwork<GridworkException.Argument> { worker.listRecords(RecordFilter(offset = Long.MAX_VALUE)) }
        Unit
    }

    @Test
    fun `rejected change with reason, then discard`() = runBlocking {
        val worker = login("grid.kw01")
        // Another district's grid: the device files it, the server refuses it.
        val outside = worker.createReport(reportDraft(grid = WC_GRID))
        val inside = worker.createReport(reportDraft())
        val summary = worker.syncNow()
        assertEquals(1L to 1L, summary.accepted to summary.rejected)
        assertEquals(0L, worker.pendingCount())

        val rejected = worker.rejectedChanges().single()
        assertEquals(outside.id, rejected.recordId)
        assertEquals(RejectReason.OUT_OF_SCOPE, rejected.reason)
        assertEquals("超出您的管辖范围", rejected.reasonLabel)
        assertEquals("org.grid", rejected.field)
        assertTrue(rejected.message.isNotEmpty() && rejected.isCreate && rejected.kind == RecordKind.REPORT)
        assertFalse(rejected.rejectedAt.isBefore(rejected.createdAt))
        assertEquals(SyncState.REJECTED, worker.getRecord(outside.id)!!.record.syncState)
        assertEquals(SyncState.SYNCED, worker.getRecord(inside.id)!!.record.syncState)
        val local = worker.getRecord(outside.id)!!.history.filterIsInstance<HistoryEntry.Local>()
        assertEquals("rejected", local[0].state)
        assertEquals(RejectReason.OUT_OF_SCOPE, local[0].reason)

        worker.discardRejected(rejected.opId)
        assertEquals(emptyList<RejectedChange>(), worker.rejectedChanges())
        assertGridwork<GridworkException.NotFound> { worker.discardRejected(rejected.opId) }
        Unit
    }
}

fun HistoryEntry.at(): Instant = when (this) {
    is HistoryEntry.Local -> at
    is HistoryEntry.Server -> at
}
