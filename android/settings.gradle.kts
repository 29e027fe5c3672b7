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
    }
}
rootProject.name = "gridwork-android"
include(":gridwork")
