package cn.gridwork.core.test

import cn.gridwork.core.GridworkClient
import cn.gridwork.core.GridworkClientInterface
import cn.gridwork.core.TaskHandleInterface
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import java.nio.file.Files
import java.nio.file.Path

/**
 * Every exported function is called by these tests: the methods of the generated interfaces
 * (read by reflection) plus the `open` constructor, each found as `.name(` or `.name {` in
 * the test sources other than this file.
 */
class CoverageTest {
    @Test
    fun `every exported function is called somewhere`() {
        val exported = (GridworkClientInterface::class.java.declaredMethods + TaskHandleInterface::class.java.declaredMethods)
            .map { it.name.substringBefore('-') } // inline-class arguments or results mangle the JVM name (StatusTest checks there are none)
            .filter { !it.contains('$') }
            .toSortedSet()
        exported += GridworkClient.Companion::class.java.declaredMethods.map { it.name }.filter { it == "open" }
        assertEquals(true, exported.size > 30 && "open" in exported && "syncNow" in exported, "exported: $exported")

        val dir = Path.of(System.getProperty("gridwork.tests.src") ?: "src/test/kotlin")
        val sources = Files.walk(dir).use { paths ->
            paths.filter { it.toString().endsWith(".kt") && !it.endsWith("CoverageTest.kt") }
                .map { Files.readString(it) }.toList()
        }.joinToString("\n")
        val missing = exported.filter { !Regex("""\.$it\s*[({]""").containsMatchIn(sources) }
        assertEquals(emptyList<String>(), missing, "exported but never called")
    }
}
