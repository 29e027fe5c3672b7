// swift-tools-version:5.9
// gridwork for iOS: the Rust core as a binary target (GridworkFFI.xcframework, built by
// build-xcframework.sh on macOS) plus the uniffi-generated Swift (Sources/Gridwork/Gridwork.swift,
// copied in by the same script) and the app glue (BackgroundSync, DatabaseKey).
import PackageDescription

let package = Package(
    name: "Gridwork",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Gridwork", targets: ["Gridwork"]),
    ],
    targets: [
        // libgridwork_ffi.a per slice + GridworkFFI.h + module.modulemap (module GridworkFFI)
        .binaryTarget(name: "GridworkFFI", path: "GridworkFFI.xcframework"),
        .target(
            name: "Gridwork",
            dependencies: ["GridworkFFI"],
            path: "Sources/Gridwork",
            linkerSettings: [
                // SQLCipher on Apple platforms uses CommonCrypto (Security framework).
                .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"),
            ]
        ),
    ]
)
