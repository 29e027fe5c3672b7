package cn.gridwork.core.test

import cn.gridwork.core.*
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.*
import org.junit.jupiter.api.Test
import java.awt.Color
import java.awt.image.BufferedImage
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import javax.imageio.ImageIO

class PhotosTest : ServerTest() {
    /** A small JPEG written with ImageIO (no EXIF). */
    private fun jpeg(name: String, width: Int, height: Int, color: Color): Path {
        val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
        val g = image.createGraphics()
        g.color = color
        g.fillRect(0, 0, width, height)
        g.color = Color.WHITE
        g.drawLine(0, 0, width - 1, height - 1)
        g.dispose()
        val path = tmp.resolve(name)
        check(ImageIO.write(image, "jpg", path.toFile())) { "no JPEG writer" }
        return path
    }

    private fun sha256(path: String): String =
        MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(Path.of(path))).joinToString("") { "%02x".format(it) }

    @Test
    fun `attach, upload by policy, the admin fetches the same bytes`() = runBlocking {
        val worker = login("grid.kw01")
        worker.setPhotoPolicy(PhotoPolicy.UNMETERED_ONLY)
        assertEquals(PhotoPolicy.UNMETERED_ONLY, worker.photoPolicy())
        worker.setNetwork(Network.METERED)

        val report = worker.createReport(reportDraft(description = "垃圾桶满溢，附照片"))
        val photo = worker.attachPhoto(report.id, jpeg("a.jpg", 64, 48, Color.GREEN).toString(), PhotoStage.BEFORE)
        assertEquals("image/jpeg", photo.mime)
        assertEquals(64 to 48, photo.width to photo.height)
        assertEquals(PhotoStage.BEFORE, photo.stage)
        assertEquals("整改前", photo.stageLabel)
        assertNull(photo.takenAt) // ImageIO writes no EXIF
        assertTrue(Regex("[0-9a-f]{64}").matches(photo.sha256))
        val local = worker.photoFile(photo.sha256, false)!!
        assertEquals(photo.sha256, sha256(local))
        assertEquals(photo.bytes, Files.size(Path.of(local)))
        assertEquals(listOf(photo), worker.getRecord(report.id)!!.record.report.photos)
        assertEquals(PhotoQueue(count = 1, bytes = photo.bytes), worker.photoQueue())

        // Metered network and UNMETERED_ONLY: the record goes, the photo waits.
        val metered = worker.syncNow()
        assertEquals(2L, metered.accepted) // the create and the attach
        assertEquals(0L, metered.photosUploaded)
        assertEquals(1L, worker.photoQueue().count)

        val admin = login("admin")
        admin.syncNow()
        assertEquals(listOf(photo), admin.getRecord(report.id)!!.record.report.photos)
        assertGridwork<GridworkException.PhotoPending> { admin.fetchPhoto(photo.sha256, false) }

        // uploadPhotos sends them whatever the policy.
        val uploaded = worker.uploadPhotos()
        assertEquals(1L, uploaded.photosUploaded)
        assertTrue(uploaded.photoBytesSent >= photo.bytes)
        assertEquals(PhotoQueue(count = 0, bytes = 0), worker.photoQueue())

        // On an unmetered network the sync itself uploads.
        val second = worker.createReport(reportDraft(description = "整改后复查"))
        val after = worker.attachPhoto(second.id, jpeg("b.jpg", 40, 30, Color.BLUE).toString(), PhotoStage.AFTER)
        assertEquals("整改后", after.stageLabel)
        worker.setNetwork(Network.UNMETERED)
        val progress = Recorder()
        val handle = worker.subscribe(progress)
        assertEquals(1L, worker.syncNow().photosUploaded)
        handle.cancel()
        assertTrue(progress.events.any { it.phase == SyncPhase.UPLOADING_PHOTOS && it.photosTotal == 1L })

        admin.syncNow()
        for (p in listOf(photo, after)) {
            val path = admin.fetchPhoto(p.sha256, false)
            assertEquals(p.sha256, sha256(path))
            assertEquals(path, admin.photoFile(p.sha256, false))
            assertTrue(Files.isRegularFile(Path.of(admin.fetchPhoto(p.sha256, true)))) // thumbnail
        }

        // The server holds them: the worker may free the full-size files and fetch them again.
        assertTrue(worker.freePhotoSpace() >= photo.bytes + after.bytes)
        assertNull(worker.photoFile(photo.sha256, false))
        assertEquals(photo.sha256, sha256(worker.fetchPhoto(photo.sha256, false)))

        val detached = worker.detachPhoto(report.id, photo.sha256)
        assertEquals(emptyList<PhotoInfo>(), detached.report.photos)
        assertEquals(SyncState.PENDING, detached.syncState)
    }

    @Test
    fun `bad photos are typed errors`() = runBlocking {
        val worker = login("grid.kw01")
        val report = worker.createReport(reportDraft())
        val text = tmp.resolve("not-a-photo.jpg").also { Files.writeString(it, "hello") }
        val e = assertGridwork<GridworkException.Photo> { worker.attachPhoto(report.id, text.toString(), null) }
        assertTrue(e.code.startsWith("photo_"), e.code)
        val good = jpeg("ok.jpg", 16, 16, Color.RED).toString()
        assertGridwork<GridworkException.Argument> { worker.attachPhoto("nope", good, null) }
        assertGridwork<GridworkException.NotFound> { worker.attachPhoto(java.util.UUID.randomUUID().toString(), good, null) }
        assertGridwork<GridworkException.Argument> { worker.fetchPhoto("xyz", false) }
        assertNull(worker.photoFile("xyz", false))
        assertEquals(emptyList<PhotoInfo>(), worker.getRecord(report.id)!!.record.report.photos)
    }
}
