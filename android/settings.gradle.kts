// The gridwork Android library (the Rust core + its uniffi Kotlin bindings). See README.md:
// it cannot be built on the project's Linux machines (no Android SDK / Gradle Android plugin).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        // The Kotlin half of rustls-platform-verifier (HTTPS certificate checks through Android's
        // trust manager), an AAR the rustls project publishes as a Maven repository in its GitHub
        // repository, not on Maven Central or Google's. Only its group is looked up there.
        // See gridwork/build.gradle.kts and README.md ("TLS on Android").
        maven {
            url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/")
            content { includeGroup("rustls") }
        }
    }
}
rootProject.name = "gridwork-android"
include(":gridwork")
