package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.util.UUID

class LoginTest : ServerTest() {
    @Test
    fun `login and current user`() = runBlocking {
        val client = open()
        UUID.fromString(client.deviceId())
        assertEquals(server.trimEnd('/'), client.serverUrl().trimEnd('/'))
        assertNull(client.currentUser())
        val user = client.login("grid.kw01", PASSWORD)
        assertEquals("grid.kw01", user.username)
        assertEquals(Role.GRID_WORKER, user.role)
        assertEquals("网格员", user.roleLabel)
        assertEquals(KW_GRID, user.scope)
        assertEquals(user, client.currentUser())
    }

    @Test
    fun `wrong password is a typed error`() = runBlocking {
        val client = open()
        val e = assertGridwork<GridworkException.Unauthorized> { client.login("grid.kw01", "not-the-password") }
        assertEquals("用户名或密码错误", e.msg)
        assertGridwork<GridworkException.Argument> { client.login("", PASSWORD) }
        assertNull(client.currentUser())
    }

    @Test
    fun `unreachable server and bad url`() = runBlocking {
        val client = open(url = "http://127.0.0.1:9") // discard port: nothing listens
        assertGridwork<GridworkException.Network> { client.login("grid.kw01", PASSWORD) }
        assertGridwork<GridworkException.Argument> {
            GridworkClient.open(tmp.resolve("x.db").toString(), "ftp://example.invalid", null)
        }
        Unit
    }

    @Test
    fun `logout then sync is NotLoggedIn`() = runBlocking {
        val worker = login("grid.kw01")
        worker.createReport(reportDraft())
        worker.logout()
        assertNull(worker.currentUser())
        worker.logout() // again: nothing to do
        assertGridwork<GridworkException.NotLoggedIn> { worker.syncNow() }
        assertGridwork<GridworkException.NotLoggedIn> { worker.createReport(reportDraft()) }
        assertGridwork<GridworkException.NotLoggedIn> { worker.listRecords(RecordFilter(mineOnly = true)) }
        // Records and pending changes stay; logging in again sends them.
        assertEquals(1L, worker.pendingCount())
        worker.login("grid.kw01", PASSWORD)
        assertEquals(1L, worker.syncNow().accepted)

        // A device that never logged in has no reference data either: log in once.
        val fresh = open("fresh")
        assertGridwork<GridworkException.NoReferenceData> { fresh.createReport(reportDraft()) }
        assertGridwork<GridworkException.NotLoggedIn> { fresh.syncNow() }
        Unit
    }

    @Test
    fun `another user's pending change refuses a second login with OtherUsersData`() = runBlocking {
        val phone = login("grid.kw01", name = "shared")
        val report = phone.createReport(reportDraft())
        // Signed in or signed out: the owner's unsent change keeps the device theirs.
        val e = assertGridwork<GridworkException.OtherUsersData> { phone.login("officer.kuiwen", PASSWORD) }
        assertTrue("其他用户" in e.msg, e.msg)
        assertEquals("grid.kw01", phone.currentUser()?.username)
        phone.logout()
        assertGridwork<GridworkException.OtherUsersData> { phone.login("officer.kuiwen", PASSWORD) }
        assertNull(phone.currentUser())
        assertEquals(1L, phone.pendingCount())
        assertNotNull(phone.getRecord(report.id))

        // Once it is sent, another account may sign in, and starts clean.
        phone.login("grid.kw01", PASSWORD)
        assertEquals(1L, phone.syncNow().accepted)
        phone.logout()
        assertEquals("officer.kuiwen", phone.login("officer.kuiwen", PASSWORD).username)
        assertNull(phone.getRecord(report.id))
        assertEquals(0L, phone.pendingCount())
    }

    @Test
    fun `reference data`() = runBlocking {
        val client = open()
        assertGridwork<GridworkException.NoReferenceData> { client.orgChildren(null) }
        assertGridwork<GridworkException.NoReferenceData> { client.categories() }
        client.login("grid.kw01", PASSWORD)

        val city = client.orgChildren().single()
        assertEquals(Triple("370700", OrgLevel.CITY, null), Triple(city.code, city.level, city.parent))
        assertTrue("370705" in client.orgChildren(city.code).map { it.code })
        val grids = client.orgChildren(KW_COMMUNITY)
        assertTrue(KW_GRID in grids.map { it.code })
        assertTrue(grids.all { it.level == OrgLevel.GRID && it.parent == KW_COMMUNITY })
        assertEquals(emptyList<OrgUnit>(), client.orgChildren("no-such-org"))

        val categories = client.categories().associateBy { it.code }
        val manhole = categories.getValue("09006")
        assertTrue(manhole.kind in setOf(CategoryKind.MATTER, CategoryKind.COMPONENT))
        assertTrue(manhole.name.isNotBlank())

        // A grid worker issues no notices, so holds no numbers.
        assertEquals(0L, client.numbersLeft())
        assertGridwork<GridworkException.NoNumbers> { client.nextNoticeNumber() }
    }
}
