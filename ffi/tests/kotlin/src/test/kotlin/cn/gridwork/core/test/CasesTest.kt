package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.awt.Color
import java.awt.image.BufferedImage
import java.nio.file.Files
import java.nio.file.Path
import java.util.UUID
import javax.imageio.ImageIO

/** 案件: the loop 立案 → 派遣 → 处置 → 核查 → 结案 on three phones, and the case calls' typed errors. */
class CasesTest : ServerTest() {
    /** A small JPEG written with ImageIO (no EXIF). */
    private fun jpeg(name: String, width: Int = 64, height: Int = 48): Path {
        val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
        val g = image.createGraphics()
        g.color = Color.ORANGE
        g.fillRect(0, 0, width, height)
        g.color = Color.BLACK
        g.drawLine(0, height - 1, width - 1, 0)
        g.dispose()
        val path = tmp.resolve(name)
        check(ImageIO.write(image, "jpg", path.toFile())) { "no JPEG writer" }
        return path
    }

    private fun caseStatus(status: CaseStatus) = RecordStatus.Case(status)

    @Test
    fun `a case through the loop on three phones, each step offline then synced`() = runBlocking {
        val reporter = login("grid.kw01") // files the report, and checks on site (核查)
        val admin = login("admin")
        val officer = login("officer.kuiwen")
        // Whom to dispatch to: the officers in the admin's local copy of the accounts.
        val officers = admin.users(Role.OFFICER)
        assertTrue(officers.isNotEmpty() && officers.all { it.role == Role.OFFICER })
        val officerId = officers.single { it.username == "officer.kuiwen" }.id
        assertEquals(officer.currentUser()!!.id, officerId)

        // 上报.
        val report = reporter.createReport(reportDraft(description = "路边暴露垃圾，未及时清运"))
        assertEquals(1L, reporter.syncNow().accepted)
        assertNull(reporter.caseOf(report.id))

        // 立案 and 派遣 on the admin's phone, offline; synced after.
        admin.syncNow()
        val source = CaseSource.Report(report.id)
        val opened = admin.openCase(CaseDraft(source = source, category = "06010", description = "路边暴露垃圾"))
        assertEquals(RecordKind.CASE to "案件", opened.kind to opened.kindLabel)
        assertEquals(caseStatus(CaseStatus.REGISTERED) to "已立案", opened.status to opened.statusLabel)
        assertNull(opened.case.number) // numbered by the server
        assertEquals(source, opened.case.source)
        assertEquals(report.grid to report.location, opened.grid to opened.location)
        assertEquals(listOf(CaseEventKind.REGISTER), opened.case.timeline.map { it.action })
        assertEquals("立案", opened.case.timeline[0].actionLabel)
        assertNull(admin.caseRemaining(opened.id)) // no clock before 派遣
        val toOfficer = Assignee.Officer(officerId)
        val dispatched = admin.caseStep(opened.id, CaseAction.Dispatch(toOfficer), "请尽快清运", emptyList())
        assertEquals(caseStatus(CaseStatus.DISPATCHED) to "处置中", dispatched.status to dispatched.statusLabel)
        assertEquals(toOfficer, dispatched.case.assignee)
        var summary = admin.syncNow()
        assertEquals(2L to 0L, summary.accepted to summary.rejected)
        val case = admin.getRecord(opened.id)!!.record
        assertEquals(SyncState.SYNCED, case.syncState)
        assertTrue(Regex("""370705-\d{4}-\d{6}""").matches(case.case.number!!), case.case.number)
        assertNotNull(case.case.dueAt)
        val remaining: Long = admin.caseRemaining(case.id)!!
        assertTrue(remaining in 1L..240L, "$remaining") // 06010: four working hours
        assertEquals(RecordStatus.Report(ReportStatus.ACCEPTED), admin.getRecord(report.id)!!.record.status)

        // 处置 on the officer's phone, offline (no sync until done), with an "after" photo.
        officer.syncNow()
        assertEquals(caseStatus(CaseStatus.DISPATCHED), officer.getRecord(case.id)!!.record.status)
        officer.setNetwork(Network.UNMETERED)
        val after = officer.takePhoto(jpeg("after.jpg").toString(), PhotoStage.AFTER)
        assertEquals(PhotoStage.AFTER to "整改后", after.stage to after.stageLabel)
        assertEquals(1L, officer.photoQueue().count) // queued, attached to nothing yet
        val handled = officer.caseStep(case.id, CaseAction.Handle, "已清运", listOf(after))
        assertEquals(caseStatus(CaseStatus.HANDLED) to "待核查", handled.status to handled.statusLabel)
        assertEquals(SyncState.PENDING, handled.syncState)
        assertEquals(listOf(after), handled.case.photos)
        assertEquals(listOf(after.sha256), handled.case.timeline.last().photos)
        summary = officer.syncNow()
        assertEquals(Triple(1L, 0L, 1L), Triple(summary.accepted, summary.rejected, summary.photosUploaded))

        // 核查 fails (返工) on the reporter's phone: back to the officer, counted.
        reporter.syncNow()
        assertEquals(caseStatus(CaseStatus.HANDLED), reporter.getRecord(case.id)!!.record.status)
        val failed = reporter.caseStep(case.id, CaseAction.Verify(passed = false), "现场仍有垃圾")
        assertEquals(caseStatus(CaseStatus.DISPATCHED) to 1, failed.status to failed.case.reworks)
        assertEquals(1L, reporter.syncNow().accepted)
        officer.syncNow()
        val back = officer.getRecord(case.id)!!.record
        assertEquals(caseStatus(CaseStatus.DISPATCHED) to 1, back.status to back.case.reworks)
        officer.caseStep(case.id, CaseAction.Handle, "已彻底清理")
        assertEquals(1L, officer.syncNow().accepted)

        // Two phones act on the same stage offline: the reporter passes the check, the admin
        // suspends. The first to sync wins; the other is refused as STALE_STEP.
        reporter.syncNow()
        admin.syncNow()
        val passed = reporter.caseStep(case.id, CaseAction.Verify(passed = true), "已整改")
        assertEquals(caseStatus(CaseStatus.CLOSED) to "已结案", passed.status to passed.statusLabel)
        admin.caseStep(case.id, CaseAction.Suspend)
        assertEquals(1L, reporter.syncNow().accepted)
        assertEquals(1L, admin.syncNow().rejected)
        val stale = admin.rejectedChanges().single()
        assertEquals(RejectReason.STALE_STEP to "案件已被他人先行办理", stale.reason to stale.reasonLabel)
        assertEquals(caseStatus(CaseStatus.CLOSED), admin.getRecord(case.id)!!.record.status)
        admin.discardRejected(stale.opId)

        // 答复, and the reporter's phone shows it with the case closed.
        val reply = "您反映的暴露垃圾已清运完毕，感谢监督！"
        admin.caseStep(case.id, CaseAction.Reply(reply))
        assertEquals(1L, admin.syncNow().accepted)
        reporter.syncNow()
        val seen = reporter.caseOf(report.id)!!
        assertEquals(case.id, seen.id)
        assertEquals(caseStatus(CaseStatus.CLOSED) to "已结案", seen.status to seen.statusLabel)
        assertEquals(reply, seen.case.reply)
        assertNotNull(seen.case.closedAt)
        assertNull(reporter.caseRemaining(case.id)) // closed: no clock
        assertEquals(RecordStatus.Report(ReportStatus.CLOSED), reporter.getRecord(report.id)!!.record.status)
        val timeline = seen.case.timeline
        assertEquals(
            listOf("REGISTER", "DISPATCH", "HANDLE", "VERIFY", "HANDLE", "VERIFY", "REPLY").map { CaseEventKind.valueOf(it) },
            timeline.map { it.action },
        )
        assertEquals(toOfficer, timeline[1].assignee)
        assertEquals("请尽快清运", timeline[1].note)
        assertEquals(officerId to officer.deviceId(), timeline[2].actor to timeline[2].device)
        assertEquals(listOf(after.sha256), timeline[2].photos)
        assertEquals(caseStatus(CaseStatus.DISPATCHED) to "处置中", timeline[3].toStatus to timeline[3].toStatusLabel)
        assertEquals(caseStatus(CaseStatus.HANDLED) to caseStatus(CaseStatus.CLOSED), timeline[5].fromStatus to timeline[5].toStatus)
        officer.syncNow()
        assertEquals(timeline, officer.getRecord(case.id)!!.record.case.timeline) // the same on every phone
        assertTrue(Files.isRegularFile(Path.of(reporter.fetchPhoto(after.sha256, true)))) // the reporter sees it
        val closed = reporter.listRecords(RecordFilter(status = caseStatus(CaseStatus.CLOSED), limit = 1000))
        assertTrue(case.id in closed.map { it.id })
        assertTrue(closed.all { it.kind == RecordKind.CASE })
        // What a screen does with a case's status: an exhaustive `when`.
        val badge = when (val s = seen.status) {
            is RecordStatus.Case -> when (s.status) {
                CaseStatus.CLOSED, CaseStatus.VOIDED -> "done"
                CaseStatus.REGISTERED, CaseStatus.DISPATCHED, CaseStatus.HANDLED, CaseStatus.SUSPENDED -> "open"
            }
            is RecordStatus.Report, is RecordStatus.Notice, is RecordStatus.ServiceLog -> "not a case"
        }
        assertEquals("done", badge)
    }

    @Test
    fun `duplicate hints near a new report, and a service log whose complaints open cases`() = runBlocking {
        val worker = login("grid.kw01")
        val admin = login("admin")
        val (lat, lon) = 36.71234 to 119.17321
        val near = worker.createReport(
            ReportDraft(grid = KW_GRID, location = location(lat + 0.0002, lon), category = "06036", description = "路边暴露垃圾")
        )
        val far = worker.createReport(
            ReportDraft(grid = KW_GRID, location = location(lat + 0.0018, lon), category = "06036", description = "路边暴露垃圾")
        )
        val hints = worker.duplicateHints("06036", lat, lon)
        assertEquals(listOf(near.id), hints.map { it.record.id }, "near, not ${far.id}")
        assertTrue(hints[0].distanceM in 21.0..23.5, "${hints[0].distanceM}")
        assertGridwork<GridworkException.Argument> { worker.duplicateHints("06036", 91.0, lon) }

        val log = worker.createServiceLog(serviceLogDraft())
        assertEquals(emptyList<RecordView>(), worker.casesFrom(log.id))
        worker.syncNow()
        admin.syncNow()
        admin.openCase(CaseDraft(source = CaseSource.ServiceLog(log.id, 0), category = "09006", description = "夜间烧烤油烟扰民"))
        assertEquals(0L, admin.syncNow().rejected)
        worker.syncNow()
        val cases = worker.casesFrom(log.id)
        assertEquals(listOf<CaseSource>(CaseSource.ServiceLog(log.id, 0)), cases.map { it.case.source })
        assertEquals(caseStatus(CaseStatus.REGISTERED), cases.single().status)
    }

    @Test
    fun `a stall found by its QR code offline lists its inspections`() = runBlocking {
        val officer = login("officer.kuiwen")
        val stall = officer.stallByQr("https://cg.weifang.example/public/stalls/KW-XLP-003")!!
        assertEquals("KW-XLP-003", stall.code)
        assertTrue(stall.operator != null && !stall.operator!!.phone.contains("*"))
        assertNull(officer.stallByQr("NO-SUCH-1"))
        assertGridwork<GridworkException.Argument> { officer.stallByQr("https://evil.example/x") }
        assertEquals(stall.code, officer.stallsNear(stall.lat, stall.lon, 300.0).first().code)
        val log = officer.createServiceLog(serviceLogDraft().copy(grid = stall.community + "-01", stall = stall.code))
        assertEquals(listOf(log.id), officer.stallInspections(stall.code).map { it.id })
    }

    @Test
    fun `case calls with bad input give typed errors`() = runBlocking {
        val admin = login("admin")
        val report = admin.createReport(reportDraft())
        fun draft(source: CaseSource, grid: String? = null, location: Location? = null) =
            CaseDraft(source = source, category = "06010", description = "暴露垃圾", grid = grid, location = location)
        val case = admin.openCase(draft(CaseSource.Report(report.id)))
        val pending = admin.pendingCount()

        // openCase: a bad id, a negative index, half a place; an unknown source; a grid worker.
        var arg = assertGridwork<GridworkException.Argument> { admin.openCase(draft(CaseSource.Report("not-a-uuid"))) }
        assertTrue("source.id" in arg.msg, arg.msg)
        arg = assertGridwork { admin.openCase(draft(CaseSource.ServiceLog(UUID.randomUUID().toString(), complaint = -1))) }
        assertTrue("source.complaint" in arg.msg, arg.msg)
        assertGridwork<GridworkException.Argument> { admin.openCase(draft(CaseSource.Hotline, grid = KW_GRID)) }
        assertGridwork<GridworkException.Argument> { admin.openCase(draft(CaseSource.Hotline)) }
        assertGridwork<GridworkException.NotFound> { admin.openCase(draft(CaseSource.Report(UUID.randomUUID().toString()))) }
        val hotline = admin.openCase(draft(CaseSource.Hotline, grid = KW_GRID, location = location()))
        assertEquals(KW_GRID to CaseSource.Hotline, hotline.grid to hotline.case.source)
        val worker = login("grid.kw01")
        val mine = worker.createReport(reportDraft())
        var invalid = assertGridwork<GridworkException.Invalid> { worker.openCase(draft(CaseSource.Report(mine.id))) }
        assertEquals(RejectReason.WRONG_ROLE, invalid.reason)

        // caseStep: bad and unknown ids, negative minutes, a bad photo; steps the rules refuse here.
        arg = assertGridwork { admin.caseStep("zzz", CaseAction.Handle) }
        assertTrue("UUID" in arg.msg, arg.msg)
        assertGridwork<GridworkException.NotFound> { admin.caseStep(UUID.randomUUID().toString(), CaseAction.Handle) }
        for (minutes in listOf(-5L, Long.MIN_VALUE)) {
            arg = assertGridwork { admin.caseStep(case.id, CaseAction.RequestExtension(workingMinutes = minutes)) }
            assertTrue("working_minutes" in arg.msg, arg.msg)
        }
        val photo = admin.takePhoto(jpeg("p.jpg", 32, 24).toString(), null)
        assertEquals(Triple(null, 32, 24), Triple(photo.stage, photo.width, photo.height))
        arg = assertGridwork { admin.caseStep(case.id, CaseAction.Note, "x", listOf(photo.copy(bytes = -1))) }
        assertTrue("photos.bytes" in arg.msg, arg.msg)
        val refused = listOf(
            Triple(admin to case.id, CaseAction.Handle, RejectReason.INVALID_TRANSITION), // not dispatched
            Triple(admin to case.id, CaseAction.RequestExtension(60), RejectReason.NOT_ASSIGNEE),
            Triple(admin to case.id, CaseAction.MarkOverdue, RejectReason.WRONG_ROLE), // the server's own
            Triple(admin to case.id, CaseAction.Note, RejectReason.INVALID), // a note needs its note
            Triple(admin to case.id, CaseAction.Dispatch(Assignee.Unit(KW_GRID)), RejectReason.INVALID), // a grid is no brigade
            Triple(admin to report.id, CaseAction.Handle, RejectReason.KIND_MISMATCH), // not a case
            Triple(worker to mine.id, CaseAction.Verify(true), RejectReason.KIND_MISMATCH),
        )
        for ((target, action, reason) in refused) {
            val (client, id) = target
            invalid = assertGridwork { client.caseStep(id, action) }
            assertEquals(reason, invalid.reason, "$action")
        }
        invalid = assertGridwork { admin.setStatus(case.id, caseStatus(CaseStatus.CLOSED)) } // a case moves only by its steps
        assertEquals(RejectReason.INVALID_TRANSITION to "status", invalid.reason to invalid.field)

        // takePhoto: not a photo we take in.
        val text = tmp.resolve("not-a-photo.jpg").also { Files.writeString(it, "hello") }
        val photoError = assertGridwork<GridworkException.Photo> { admin.takePhoto(text.toString(), PhotoStage.AFTER) }
        assertTrue(photoError.code.startsWith("photo_"), photoError.code)

        // caseOf and caseRemaining.
        assertGridwork<GridworkException.Argument> { admin.caseOf("not-a-uuid") }
        assertNull(admin.caseOf(UUID.randomUUID().toString()))
        assertNull(admin.caseOf(case.id)) // a case is opened from records, not from itself
        assertEquals(case.id, admin.caseOf(report.id)!!.id)
        assertGridwork<GridworkException.Argument> { admin.caseRemaining("not-a-uuid") }
        assertGridwork<GridworkException.NotFound> { admin.caseRemaining(UUID.randomUUID().toString()) }
        assertGridwork<GridworkException.Argument> { admin.caseRemaining(report.id) } // not a case
        assertNull(admin.caseRemaining(case.id))

        assertEquals(pending + 1, admin.pendingCount()) // only the hotline case was queued
    }
}
