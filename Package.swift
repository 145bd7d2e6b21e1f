// swift-tools-version: 6.0
import PackageDescription

// Layers, one module each; a module imports only those below it.
//   mrl (CLI: Engine, Server, Terminal, ArgumentParser, swift-log; nothing below Engine)
//   mrl-bench (benchmarks, load generator) → Server's client, Engine, Search, Store, CKernels (memory bandwidth), CBLAS (sgemm beside the few-row kernel), CEpoll (its epoll loop)
//   both → Terminal (tables, JSON output, progress, plots → JSONValue, Search)
//   Server (→ SwiftNIO, swift-service-lifecycle) → Engine (→ CZlib) → Store (→ CLMDB), Search (→ CKernels), Embedding (→ CBLAS, CKernels)
//   and every one of them → JSONValue (the JSON type, its parser and writer; no dependencies)
// Linux only: epoll, inotify, SO_PEERCRED and systemd socket activation (Engine says so on others).
let package = Package(
    name: "mrl",
    products: [
        .executable(name: "mrl", targets: ["mrl"]),
        .executable(name: "mrl-bench", targets: ["mrl-bench"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System C libraries, installed by tools/setup.sh (apt-get); CEpoll is libc's epoll (for mrl-bench's load generator).
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // Hot numeric kernels with per-ISA variants chosen once at run time by cpuid. No unsafe
        // flags, so Engine stays usable as a versioned dependency: release builds are -O2.
        .target(name: "CKernels", path: "Sources/CKernels"),

        .target(name: "JSONValue"),
        .target(name: "Store", dependencies: ["CLMDB", "JSONValue"]),
        .target(name: "Search", dependencies: ["CKernels", "JSONValue"]),
        .target(name: "Embedding", dependencies: ["CBLAS", "CKernels", "JSONValue"]),
        .target(name: "Engine", dependencies: ["Store", "Search", "Embedding", "JSONValue", "CBLAS", "CZlib"]),
        .target(name: "Server", dependencies: [
            "Engine", "Store",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOExtras", package: "swift-nio-extras"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // What both executables print with: tables, JSON, progress, SVG plots.
        .target(name: "Terminal", dependencies: ["JSONValue", "Search"]),
        .executableTarget(
            name: "mrl",
            dependencies: ["Engine", "Server", "Terminal",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "mrl-bench",
            dependencies: ["Engine", "Server", "Search", "Store", "CKernels", "CBLAS", "CEpoll", "Terminal",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .testTarget(name: "JSONValueTests", dependencies: ["JSONValue"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "CLMDB"]),  // CLMDB: to make an index as older versions did
        .testTarget(name: "SearchTests", dependencies: ["Search"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "Search", "CKernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Search", "Store", "Embedding", "TestSupport"]),
        // Running `mrl` in tests: finding the binary, launching, killing, scratch folders, corpora.
        .target(name: "TestSupport", dependencies: ["Search", "Server", "Engine"], path: "Tests/TestSupport"),
        .testTarget(name: "ServerTests", dependencies: ["mrl", "mrl-bench", "Server", "Engine", "TestSupport",
                                                     // The in-process tests (InProcess/) run the handlers on NIO's own channels.
                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                     .product(name: "NIOPosix", package: "swift-nio"),
                                                     .product(name: "NIOEmbedded", package: "swift-nio"),
                                                     .product(name: "NIOHTTP1", package: "swift-nio"),
                                                     .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "mrlTests", dependencies: ["mrl", "Engine", "Search", "Terminal", "TestSupport"]),
    ]
)
