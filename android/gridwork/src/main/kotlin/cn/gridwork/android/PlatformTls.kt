package cn.gridwork.android

import android.content.Context

/**
 * HTTPS on Android. The Rust core's HTTP client (reqwest with rustls) checks server
 * certificates with rustls-platform-verifier, which asks Android's trust manager through
 * JNI. That crate must be given the JVM and the app's Context once per process, before the
 * first HTTPS request: [init] does it (`Gridwork.client` calls it before opening the
 * client). Its Kotlin half, `org.rustls.platformverifier.CertificateVerifier`, comes from
 * the `rustls:rustls-platform-verifier` AAR (see build.gradle.kts and README.md).
 *
 * The native side is `ffi/src/android.rs` (`Java_cn_gridwork_android_PlatformTls_initVerifier`),
 * compiled into libgridwork_ffi.so for Android only. A failure there throws a
 * `RuntimeException` here; [init] then tries again on its next call.
 */
internal object PlatformTls {
    private val once = InitOnce<Context> { context ->
        // JNI finds `external` functions only in libraries loaded with System.loadLibrary;
        // JNA (the uniffi bindings) loads the same file on its own, which is harmless.
        System.loadLibrary("gridwork_ffi")
        initVerifier(context.applicationContext)
    }

    fun init(context: Context) = once.ensure(context)

    @JvmStatic
    private external fun initVerifier(context: Context)
}
