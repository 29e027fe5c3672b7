package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.nio.file.Files
import java.util.UUID

class ErrorsTest : ServerTest() {
    @Test
    fun `bad input gives typed errors, not crashes`() = runBlocking {
        val worker = login("grid.kw01")
        val report = worker.createReport(reportDraft())

        for (call in listOf<() -> Unit>(
            { worker.getRecord("not-a-uuid") },
            { worker.setStatus("12345", RecordStatus.Report(ReportStatus.ACCEPTED)) },
            { worker.updateReport("", ReportEdit(description = "x")) },
            { worker.discardRejected("zzz") },
        )) {
            val e = assertGridwork<GridworkException.Argument> { call() }
            assertTrue("UUID" in e.msg, e.msg)
        }

        var invalid = assertGridwork<GridworkException.Invalid> { worker.createReport(reportDraft(lat = 91.0)) }
        assertEquals("location.lat", invalid.field)
        assertEquals(RejectReason.INVALID, invalid.reason)
        invalid = assertGridwork { worker.createReport(reportDraft(description = "   ")) }
        assertEquals("description", invalid.field)
        invalid = assertGridwork { worker.createReport(reportDraft(grid = "370705001001-99")) }
        assertEquals("org.grid", invalid.field)
        var arg = assertGridwork<GridworkException.Argument> { worker.createNotice(noticeDraft(deadline = "2024-13-45")) }
        assertTrue("deadline" in arg.msg, arg.msg)
        arg = assertGridwork { worker.createServiceLog(serviceLogDraft(participants = -1)) }
        assertTrue("participants" in arg.msg, arg.msg)
        assertGridwork<GridworkException.Argument> { worker.createServiceLog(serviceLogDraft(linkedReports = listOf("nope"))) }
        assertGridwork<GridworkException.Argument> { worker.updateReport(report.id, ReportEdit()) } // nothing to change
        invalid = assertGridwork { worker.updateNotice(report.id, NoticeEdit(facts = "x")) } // a report is not a notice
        assertEquals(RejectReason.KIND_MISMATCH, invalid.reason)
        invalid = assertGridwork { worker.setStatus(report.id, RecordStatus.Report(ReportStatus.ACCEPTED)) } // only admins accept reports
        assertEquals(RejectReason.INVALID_TRANSITION, invalid.reason)
        invalid = assertGridwork { worker.updateReport(report.id, ReportEdit(location = location(lon = 200.0))) }
        assertEquals("location.lon", invalid.field)
        assertGridwork<GridworkException.NotFound> {
            worker.setStatus(UUID.randomUUID().toString(), RecordStatus.ServiceLog(ServiceLogStatus.DONE))
        }
        assertNull(worker.getRecord(UUID.randomUUID().toString()))
        // Every error is also a plain Exception with a message, for generic handlers.
        assertTrue(invalid.message!!.contains("location.lon"))

        // Nothing bad was stored, and the client still works.
        assertEquals(1L, worker.pendingCount())
        assertEquals("人行道井盖缺失", worker.getRecord(report.id)!!.record.report.description)
    }

    @Test
    fun `wrong database key is WrongKey`() {
        val key = "ab".repeat(32)
        val device = open("secret", key = key).use { it.deviceId() }
        for (wrong in listOf("cd".repeat(32), "a passphrase", null)) {
            assertGridwork<GridworkException.WrongKey> { open("secret", key = wrong) }
        }
        assertEquals(device, open("secret", key = key).deviceId())
        val head = Files.readAllBytes(tmp.resolve("secret.db")).copyOfRange(0, 15)
        assertFalse(String(head, Charsets.US_ASCII).startsWith("SQLite format 3"))

        // A passphrase works the same way.
        open("pass", key = "correct horse battery staple")
        assertGridwork<GridworkException.WrongKey> { open("pass", key = "correct horse") }
    }
}
