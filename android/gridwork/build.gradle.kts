// Android library: the uniffi-generated Kotlin bindings (cn.gridwork.core), the native
// libgridwork_ffi.so per ABI (android/build-native.sh -> src/main/jniLibs), and the
// app-side glue in cn.gridwork.android (WorkManager sync, Keystore-wrapped database key).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

// The generated bindings are not copied: ffi/generate.sh writes them to
// <repo>/target/bindings/kotlin (override with -PgridworkBindings=DIR).
val gridworkBindings: String =
    (findProperty("gridworkBindings") as String?) ?: rootProject.file("../target/bindings/kotlin").path

android {
    namespace = "cn.gridwork.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 26 // java.time.Instant in the bindings without desugaring; Keystore AES-GCM (23+)
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", gridworkBindings)
        jniLibs.srcDirs("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

// rustls-platform-verifier's Kotlin component must have exactly the version of the
// `rustls-platform-verifier-android` crate the Rust build uses: read it from the workspace's
// Cargo.lock (a ValueSource, so the configuration cache notices a changed lock file).
abstract class RustlsPlatformVerifierVersion : ValueSource<String, RustlsPlatformVerifierVersion.Params> {
    interface Params : ValueSourceParameters {
        val lockFile: RegularFileProperty
    }

    override fun obtain(): String {
        val crate = "rustls-platform-verifier-android"
        val lines = parameters.lockFile.get().asFile.readLines()
        val at = lines.indexOfFirst { it.trim() == "name = \"$crate\"" }
        val version = if (at < 0) null else lines.drop(at + 1)
            .firstOrNull { it.trimStart().startsWith("version = ") }
            ?.substringAfter('"', "")?.substringBefore('"', "")?.takeIf { it.isNotEmpty() }
        return version ?: error("$crate not found in ${parameters.lockFile.get().asFile}")
    }
}

val rustlsPlatformVerifierVersion = providers.of(RustlsPlatformVerifierVersion::class.java) {
    parameters.lockFile.set(rootProject.layout.projectDirectory.file("../Cargo.lock"))
}

configurations.configureEach {
    resolutionStrategy.eachDependency {
        // The AAR's POM says groupId `rustls` (the upstream README's snippet checks `org.rustls`).
        if (requested.group == "rustls" && requested.name == "rustls-platform-verifier") {
            useVersion(rustlsPlatformVerifierVersion.get())
            because("the Kotlin component must match the rustls-platform-verifier-android crate in Cargo.lock")
        }
    }
}

dependencies {
    // uniffi's Kotlin needs JNA (the AAR, which carries libjnidispatch.so for each ABI) and coroutines.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    implementation("androidx.core:core-ktx:1.15.0")
    // HTTPS: the JVM half of the Rust TLS certificate verifier (PlatformTls.kt). No version here:
    // it is set from Cargo.lock above.
    implementation("rustls:rustls-platform-verifier")
}

// Build the native libraries first when they are missing (needs cargo-ndk and the NDK).
val buildNative by tasks.registering(Exec::class) {
    group = "build"
    description = "cargo-ndk build of libgridwork_ffi.so into src/main/jniLibs"
    workingDir = rootProject.projectDir
    commandLine("./build-native.sh")
    onlyIf { !file("src/main/jniLibs/arm64-v8a/libgridwork_ffi.so").exists() }
}
tasks.named("preBuild") { dependsOn(buildNative) }
