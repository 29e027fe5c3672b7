//! Android only: the JNI entry point that initialises rustls-platform-verifier.
//!
//! The core's HTTP client (reqwest with rustls) verifies server certificates with
//! rustls-platform-verifier, which on Android asks the platform's `X509TrustManager` through
//! JNI. It needs the JVM, the app's `Context` and its class loader before the first HTTPS
//! request; without them it panics inside the TLS handshake. The Android module calls this
//! once per process (`cn.gridwork.android.PlatformTls.initVerifier(context)`, from
//! `Gridwork.client(context)`) before it opens the client. Its Kotlin counterpart in the
//! verifier's AAR (`org.rustls.platformverifier.CertificateVerifier`) must be on the app's
//! classpath: see android/README.md.
//!
//! This is a plain JNI native method, not a uniffi export: it needs the `JNIEnv` of the
//! calling thread, which JNA (uniffi's Kotlin transport) does not pass. Errors and panics
//! become a Java `RuntimeException` in the caller (jni's `ThrowRuntimeExAndDefault`); nothing
//! unwinds into the JVM.

#![cfg(target_os = "android")]

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

/// `PlatformTls.initVerifier(context: Context)`, a `@JvmStatic external fun` of the Kotlin
/// object `cn.gridwork.android.PlatformTls` (JNI name
/// `Java_cn_gridwork_android_PlatformTls_initVerifier`). Calling it again is harmless: the
/// verifier keeps the first initialisation for the life of the process.
#[jni::jni_mangle("cn.gridwork.android.PlatformTls")]
pub fn init_verifier<'caller>(mut env: EnvUnowned<'caller>, _class: JClass<'caller>, context: JObject<'caller>) {
    env.with_env(|env| rustls_platform_verifier::android::init_with_env(env, context)).resolve::<ThrowRuntimeExAndDefault>()
}
