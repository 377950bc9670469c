// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "zeroshot",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ZeroShot", targets: ["ZeroShot"]),
        .library(name: "ImageIndex", targets: ["ImageIndex"]),
        .executable(name: "zeroshot", targets: ["zeroshot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The HTTP server (only in ZeroShotServer and the command line).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // C shims for system libraries.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "pangocairo",
                       providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .target(
            name: "CImageCodecs",
            path: "Sources/CImageCodecs",
            linkerSettings: [
                .linkedLibrary("jpeg"), .linkedLibrary("png16"),
                .linkedLibrary("webp"), .linkedLibrary("webpdemux"), .linkedLibrary("gif"),
            ]
        ),

        // One concern per target; data flows down this list.
        .target(name: "FileReading"),
        .target(name: "SafeTensors", dependencies: ["CKernels", "FileReading"]),
        .target(name: "Tokenizers", dependencies: ["FileReading"]),
        .target(name: "ImageIO", dependencies: ["CImageCodecs", "FileReading"]),
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "Compute", dependencies: ["CDNNL", "CKernels"]),
        // Shared building blocks of every model family; the families side by side; the registry that knows them.
        .target(name: "Layers", dependencies: ["SafeTensors", "Compute", "FileReading"]),
        .target(name: "CLIP", dependencies: ["Layers", "SafeTensors", "Compute"]),
        .target(name: "ChineseCLIP", dependencies: ["Layers", "SafeTensors", "Compute"]),
        .target(name: "SigLIP", dependencies: ["Layers", "SafeTensors", "Compute"]),
        .target(name: "Models", dependencies: ["Layers", "CLIP", "ChineseCLIP", "SigLIP", "FileReading"]),
        .target(name: "Hub", dependencies: ["FileReading"]),
        // Inputs of a run: files, directory walks, URLs, --files-from, shards, SHA-256 of the bytes.
        .target(name: "Inputs", dependencies: ["ImageIO", "Hub", "COpenSSL"]),
        // Videos: FFmpeg's libraries (the only target with them, besides those above it that take videos: the image
        // index and the command line); inputs expanded into images and sampled frames.
        .target(name: "Video", dependencies: ["ImageIO", "Inputs", "CFFmpeg"]),
        .target(name: "ZeroShot", dependencies: ["Models", "Layers", "Tokenizers", "ImageIO", "Hub", "Inputs", "SafeTensors", "Compute", "CZlib", "FileReading"]),
        // The SQLite image index (the only targets with GRDB: this one and the command line).
        .target(name: "ImageIndex", dependencies: ["ZeroShot", "Inputs", "Video", "Compute", .product(name: "GRDB", package: "GRDB.swift")]),
        // Evaluation on labelled datasets: dataset manifests, the run, metrics (top-1/top-5, confusion, recall).
        .target(name: "Evaluation", dependencies: ["ZeroShot", "Inputs"]),
        // The --report DIR of eval: charts (cairo + pango, the only targets with them: this one and the command line)
        // and an HTML page.
        .target(name: "EvalReport", dependencies: ["Evaluation", "ImageIO", "CCairo"]),
        // `zeroshot serve`: the HTTP server, an application on top of the library (the only target with Hummingbird,
        // besides the command line).
        .target(
            name: "ZeroShotServer",
            dependencies: [
                "ZeroShot", "Inputs", "ImageIndex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            resources: [.embedInCode("Resources/index.html"), .embedInCode("Resources/openapi.yaml")]
        ),
        .executableTarget(
            name: "zeroshot",
            dependencies: ["ZeroShot", "Inputs", "Video", "ImageIndex", "Evaluation", "EvalReport", "ZeroShotServer",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Fuzzing: the harnesses (debug builds only: they reach internal parsers through @testable import), the
        // libFuzzer runner scripts/fuzz builds (FUZZING defined) or a replay tool (any other debug build), and the
        // regression tests that replay what the fuzzers found.
        .target(name: "FuzzTargets",
                dependencies: ["ImageIO", "SafeTensors", "Tokenizers", "Layers", "Models", "ZeroShot", "Inputs", "Video",
                               "ImageIndex", "Evaluation", "ZeroShotServer"],
                path: "Tests/Fuzz/Targets"),
        .executableTarget(name: "zeroshot-fuzz", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/Runner"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),

        .testTarget(name: "FileReadingTests", dependencies: ["FileReading"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"]),
        .testTarget(name: "ComputeTests", dependencies: ["Compute"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "Layers", "SafeTensors"]),
        .testTarget(name: "ChineseCLIPTests", dependencies: ["ChineseCLIP", "Models", "Layers", "SafeTensors", "ImageIO", "Tokenizers"]),
        .testTarget(name: "SigLIPTests", dependencies: ["SigLIP", "Layers", "Models", "ImageIO", "SafeTensors", "Tokenizers"]),
        // Code shared by test targets (a loopback HTTP server); never part of a product.
        .target(name: "TestSupport", path: "Tests/Support"),
        .testTarget(name: "HubTests", dependencies: ["Hub", "TestSupport"]),
        .testTarget(name: "InputsTests", dependencies: ["Inputs", "ImageIO", "Hub", "TestSupport"]),
        .testTarget(name: "ZeroShotTests", dependencies: ["ZeroShot", "zeroshot", "CLIP", "Inputs", "Video", "TestSupport"]),
        .testTarget(name: "VideoTests", dependencies: ["Video", "Inputs", "ImageIO", "ZeroShot", "zeroshot", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "ZeroShot", "zeroshot", "TestSupport"]),
        .testTarget(name: "EvalReportTests", dependencies: ["EvalReport", "Evaluation", "ImageIO", "ZeroShot"]),
        .testTarget(name: "ZeroShotServerTests", dependencies: ["ZeroShotServer", "ZeroShot", "zeroshot", "TestSupport"]),
        .testTarget(name: "ImageIndexTests", dependencies: [
            "ImageIndex", "Inputs", "Video", "ZeroShot", "zeroshot", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
