package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test

/** A notice printed on patrol, offline: ESC/POS for a 58 mm printer and a PDF, with the QR code's status URL. */
class PrintTest : ServerTest() {
    @Test
    fun `a notice prints offline as PDF and ESC-POS`() = runBlocking {
        val officer = login("officer.kuiwen")
        val notice = officer.createNotice(noticeDraft())
        val url = officer.noticeStatusUrl(notice.id)
        assertTrue(url.endsWith("/public/notices/${notice.id}"), url)
        val esc = officer.noticeEscpos(notice.id, QrMode.NATIVE)
        assertArrayEquals(byteArrayOf(0x1b, 0x40), esc.copyOfRange(0, 2))
        val text = String(esc, charset("GB18030"))
        assertTrue(notice.notice.number in text && "138****1234" in text && "13805361234" !in text)
        assertTrue(String(esc, Charsets.ISO_8859_1).contains(url))
        assertFalse(String(officer.noticeEscpos(notice.id, QrMode.RASTER), Charsets.ISO_8859_1).contains(url))
        val font = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
        val pdf = officer.noticePdf(notice.id, Paper.A5, font, 0)
        assertEquals("%PDF-", String(pdf.copyOfRange(0, 5), Charsets.US_ASCII))
        assertGridwork<GridworkException.Argument> { officer.noticePdf(notice.id, Paper.A4, "/nonexistent.ttc", 0) }
        assertGridwork<GridworkException.Argument> { officer.noticePdf(notice.id, Paper.A4, font, -1) }
        assertGridwork<GridworkException.NotFound> { officer.noticeEscpos("00000000-0000-7000-8000-000000000000", QrMode.NATIVE) }
    }
}
