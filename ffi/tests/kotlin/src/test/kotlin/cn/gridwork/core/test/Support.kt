// Harness of the Kotlin binding tests: one `gridwork-server demo` for the whole run, a
// device database per client in the test's temp dir, and the drafts the tests file.
package cn.gridwork.core.test

import cn.gridwork.core.*
import org.junit.jupiter.api.extension.BeforeAllCallback
import org.junit.jupiter.api.extension.ExtendWith
import org.junit.jupiter.api.extension.ExtensionContext
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path
import java.time.LocalDate
import java.util.concurrent.ArrayBlockingQueue
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

const val PASSWORD = "gridwork-demo"
const val KW_GRID = "370705001001-01" // 胜利东街社区 第1网格 (奎文区), grid.kw01's grid
const val KW_COMMUNITY = "370705001001"
const val WC_GRID = "370702001001-01" // 十笏园社区 第1网格 (潍城区)

/**
 * The demo server, started once per test run (JUnit root store) and stopped with SIGTERM
 * (Process.destroy) when the run ends; it must then exit 0.
 * System property `gridwork.server.bin` (set by the pom) names the binary.
 */
class DemoServer private constructor(private val process: Process, val data: Path, val url: String) : AutoCloseable {
    override fun close() {
        process.destroy() // SIGTERM
        val exited = process.waitFor(30, TimeUnit.SECONDS)
        if (!exited) process.destroyForcibly()
        data.toFile().deleteRecursively()
        check(exited) { "gridwork-server did not stop within 30 s of SIGTERM" }
        check(process.exitValue() == 0) { "gridwork-server exited with ${process.exitValue()} after SIGTERM" }
    }

    /** A new one-time enrolment code (扫码登录) for [username]: the QR text `gridwork-server enrol-code` prints. */
    fun enrolCode(username: String): String {
        val pb = ProcessBuilder(bin(), "enrol-code", "--data", data.toString(), "--user", username, "--server", url)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
        pb.environment()["GRIDWORK_LOG"] = "warn"
        val process = pb.start()
        val text = process.inputStream.bufferedReader().readText().trim()
        check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "gridwork-server enrol-code failed" }
        check(text.startsWith("gridwork://enrol?server=")) { "enrol-code printed $text" }
        return text
    }

    companion object {
        private const val PREFIX = "gridwork-server listening on "

        fun bin(): String = System.getProperty("gridwork.server.bin") ?: "../../../target/debug/gridwork-server"

        fun start(): DemoServer {
            val bin = bin()
            require(Files.isExecutable(Path.of(bin))) { "no server binary $bin: cargo build -p gridwork-server" }
            val data = Files.createTempDirectory("gridwork-server-data")
            val pb = ProcessBuilder(bin, "demo", "--data", data.toString(), "--addr", "127.0.0.1:0")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
            pb.environment()["GRIDWORK_LOG"] = "warn"
            val process = pb.start()
            val urls = ArrayBlockingQueue<String>(1)
            // Read the address, then keep draining so the server never blocks on stdout.
            Thread({
                process.inputStream.bufferedReader().forEachLine { line ->
                    if (line.startsWith(PREFIX)) urls.offer(line.removePrefix(PREFIX).trim())
                }
            }, "gridwork-server-stdout").apply { isDaemon = true }.start()
            val url = urls.poll(120, TimeUnit.SECONDS)
            if (url == null) {
                process.destroyForcibly()
                error("gridwork-server did not report its address")
            }
            return DemoServer(process, data, url)
        }
    }
}

/** Starts the one server before the first test class that needs it. */
class WithServer : BeforeAllCallback {
    override fun beforeAll(context: ExtensionContext) {
        val store = context.root.getStore(ExtensionContext.Namespace.GLOBAL)
        synchronized(WithServer::class.java) {
            if (store.get("gridwork-server", DemoServer::class.java) == null) {
                store.put("gridwork-server", DemoServer.start()) // closed when the run ends
            }
            demo = store.get("gridwork-server", DemoServer::class.java)!!
            url = demo.url
        }
    }

    companion object {
        @Volatile
        lateinit var url: String

        @Volatile
        lateinit var demo: DemoServer
    }
}

/** Base of the test classes: a temp dir per test and client helpers; clients are closed after the test. */
@ExtendWith(WithServer::class)
abstract class ServerTest {
    @TempDir
    lateinit var tmp: Path

    private val clients = CopyOnWriteArrayList<GridworkClient>()

    val server: String get() = WithServer.url

    /** The QR text of a new one-time enrolment code for [username]. */
    fun enrolCode(username: String): String = WithServer.demo.enrolCode(username)

    fun open(name: String = "device", key: String? = null, url: String = server): GridworkClient =
        GridworkClient.open(tmp.resolve("$name.db").toString(), url, key).also { clients += it }

    suspend fun login(username: String, name: String = username): GridworkClient =
        open(name).also { it.login(username, PASSWORD) }

    @org.junit.jupiter.api.AfterEach
    fun closeClients() {
        clients.forEach { it.close() }
        clients.clear()
    }
}

fun location(lat: Double = 36.7069, lon: Double = 119.1617) =
    Location(lat = lat, lon = lon, accuracyM = 6.5, address = "潍坊市奎文区胜利东街")

fun today(days: Long = 0): String = LocalDate.now().plusDays(days).toString()

fun reportDraft(grid: String = KW_GRID, description: String = "人行道井盖缺失", lat: Double = 36.7069) =
    ReportDraft(grid = grid, location = location(lat = lat), category = "09006", description = description)

fun noticeDraft(grid: String = KW_GRID, number: String? = null, deadline: String = today(3)) = NoticeDraft(
    grid = grid,
    location = location(),
    number = number,
    category = "QL-STALL",
    party = Party(name = "张某", shopName = "老张水果店", phone = "13805361234"),
    facts = "店外占用人行道摆放水果",
    legalBasis = "《潍坊市城市市容和环境卫生管理办法》第十六条",
    deadline = deadline,
)

fun serviceLogDraft(
    activity: Activity = Activity.HOME_VISIT,
    participants: Int = 5,
    linkedReports: List<String> = emptyList(),
) = ServiceLogDraft(
    grid = KW_GRID,
    location = location(),
    date = today(),
    activity = activity,
    participants = participants,
    summary = "走访沿街商户，宣传门前五包",
    complaints = listOf("夜间烧烤油烟扰民"),
    replies = listOf("已告知中队，三日内现场查看"),
    linkedReports = linkedReports,
)

/** Every record matching the filter, page by page (a page holds at most 1000). */
fun GridworkClient.allRecords(kind: RecordKind? = null, mineOnly: Boolean = false): List<RecordView> {
    val out = mutableListOf<RecordView>()
    var offset = 0L
    while (true) {
        val page = listRecords(RecordFilter(kind = kind, mineOnly = mineOnly, limit = 1000, offset = offset))
        out += page
        if (page.size < 1000) return out
        offset += page.size
    }
}

/** A Kotlin `SyncListener`: records the events, optionally reacts to each. */
class Recorder(private val onEvent: ((SyncProgressInfo) -> Unit)? = null) : SyncListener {
    val events = CopyOnWriteArrayList<SyncProgressInfo>()
    val threads = CopyOnWriteArrayList<Thread>()

    override fun onProgress(progress: SyncProgressInfo) {
        events += progress
        threads += Thread.currentThread()
        onEvent?.invoke(progress)
    }
}

val RecordView.notice get() = body as RecordBody.Notice
val RecordView.report get() = body as RecordBody.Report
val RecordView.serviceLog get() = body as RecordBody.ServiceLog
val RecordView.case get() = body as RecordBody.Case

/** Runs [block], which must throw a `GridworkException` of type [T]; returns it. */
inline fun <reified T : GridworkException> assertGridwork(block: () -> Unit): T {
    try {
        block()
    } catch (e: GridworkException) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got ${e::class.simpleName}: ${e.message}", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}
