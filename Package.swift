// swift-tools-version: 6.0
import PackageDescription

// Layers, one module each; a module imports only those below it.
//   mrl (CLI) → Engine (→ CZlib) → Store (→ CLMDB), Search (→ CKernels), Embedding (→ CBLAS, CKernels)
let package = Package(
    name: "mrl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mrl", targets: ["mrl"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System C libraries, installed by tools/setup.sh (apt-get).
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Hot numeric kernels with per-ISA variants chosen once at run time by cpuid.
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(name: "Store", dependencies: ["CLMDB"]),
        .target(name: "Search", dependencies: ["CKernels"]),
        .target(name: "Embedding", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Engine", dependencies: ["Store", "Search", "Embedding", "CZlib"]),
        .executableTarget(
            name: "mrl",
            dependencies: ["Engine", "Search", "Store", "CKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "SearchTests", dependencies: ["Search"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "Search"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Search", "Store", "Embedding"]),
        .testTarget(name: "mrlTests", dependencies: ["mrl", "Engine", "Search"]),
    ]
)
