package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test

/** 扫码登录: a phone signs in by the QR text of a one-time enrolment code, syncs, and the code is spent. */
class EnrolTest : ServerTest() {
    @Test
    fun `a phone enrols by QR code, syncs, and the code works once`() = runBlocking {
        val qr = enrolCode("grid.kw01")
        // The app reads the server from the QR code, opens the client on it, then enrols.
        val url = enrolServer(qr)
        assertEquals(server.trimEnd('/'), url.trimEnd('/'))
        val phone = open("phone", url = url)
        val user = phone.enrol(qr)
        assertEquals("grid.kw01", user.username)
        assertEquals(Role.GRID_WORKER, user.role)
        assertEquals(user, phone.currentUser())
        val made = phone.createReport(reportDraft(description = "扫码登录后上报"))
        val summary = phone.syncNow()
        assertEquals(1L, summary.accepted)
        val other = login("grid.kw01", name = "other")
        other.syncNow()
        assertNotNull(other.getRecord(made.id), "the enrolled phone's record reached the server")

        // Spent: a second use is refused like an unknown code.
        val thief = open("thief")
        val refused = assertGridwork<GridworkException.Unauthorized> { runBlocking { thief.enrol(qr) } }
        assertTrue("登录码" in refused.msg, refused.msg)
        assertNull(thief.currentUser())
        // Anything but an enrolment link is Argument, and nothing is sent.
        assertGridwork<GridworkException.Argument> { runBlocking { thief.enrol("https://example.cn/public/stalls/KW-XLP-007") } }
        assertGridwork<GridworkException.Argument> { enrolServer("gridwork://enrol?server=http%3A%2F%2F10.0.0.5&code=ABCD") }
        assertEquals("http://10.0.0.5", enrolServer("gridwork://enrol?server=http%3A%2F%2F10.0.0.5&code=ABCD", allowInsecure = true))
    }
}
