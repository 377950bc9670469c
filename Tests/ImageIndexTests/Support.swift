import Foundation
import XCTest
import TestSupport
import ZeroShot

/// The repository's committed fixtures (Tests/Fixtures).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

func fixtureModel(_ name: String = "tiny-f16") -> URL {
    fixtures.appendingPathComponent("models").appendingPathComponent(name)
}

/// Real photos (pipeline fixtures and Examples/images) and the image-decoding fixtures.
func photo(_ name: String) -> URL { fixtures.appendingPathComponent("pipeline/images").appendingPathComponent(name) }
func decodingFixture(_ name: String) -> URL { fixtures.appendingPathComponent("images").appendingPathComponent(name) }
let examplePhotos = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples/images")

/// A fresh directory under the system temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-index-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// A photo library: real photos in nested folders, a non-image, a hidden file.
func makeLibrary(at root: URL) throws {
    let fm = FileManager.default
    for sub in ["2023/beach", "2024", "2024/city"] {
        try fm.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    try fm.copyItem(at: photo("chelsea.jpg"), to: root.appendingPathComponent("2023/beach/cat.jpg"))
    try fm.copyItem(at: photo("rocket.jpg"), to: root.appendingPathComponent("2023/rocket.jpg"))
    try fm.copyItem(at: photo("coffee.webp"), to: root.appendingPathComponent("2024/coffee.webp"))
    try fm.copyItem(at: photo("astronaut_exif6.jpg"), to: root.appendingPathComponent("2024/city/astronaut.jpg"))
    try fm.copyItem(at: photo("camera_gray.png"), to: root.appendingPathComponent("2024/city/camera.png"))
    try fm.copyItem(at: photo("imagenet_00_243.jpg"), to: root.appendingPathComponent("2024/dog.jpg"))
    try fm.copyItem(at: examplePhotos.appendingPathComponent("cat.jpg"), to: root.appendingPathComponent("cat-example.jpg"))
    try fm.copyItem(at: examplePhotos.appendingPathComponent("rocket.jpg"), to: root.appendingPathComponent("rocket-example.jpg"))
    try Data("notes\n".utf8).write(to: root.appendingPathComponent("2024/notes.txt"))
    try fm.copyItem(at: photo("rocket.jpg"), to: root.appendingPathComponent(".hidden.jpg"))
}

/// The classifier of the tiny fixture checkpoint, loaded once per model name.
nonisolated(unsafe) private var classifiers: [String: ZeroShotClassifier] = [:]
private let classifiersLock = NSLock()
func tinyClassifier(_ name: String = "tiny-f16") throws -> ZeroShotClassifier {
    classifiersLock.lock()
    defer { classifiersLock.unlock() }
    if let c = classifiers[name] { return c }
    let c = try ZeroShotClassifier(directory: fixtureModel(name), options: .init(batchSize: 1, warn: { _ in }))
    classifiers[name] = c
    return c
}

/// Runs the built `zeroshot` executable.
typealias Run = CommandRun

var zeroshotExecutable: URL { ZeroshotProcess.executable }

/// Starts `zeroshot` (or `executable`, given the arguments as they are) with standard output and error piped.
func startZeroshot(_ arguments: [String], in directory: URL? = nil, executable: String? = nil) throws -> (Process, Pipe, Pipe) {
    try ZeroshotProcess.start(arguments, executable: executable.map { URL(fileURLWithPath: $0) },
                              environment: ["HF_HUB_OFFLINE": "1"], directory: directory)
}

func zeroshot(_ arguments: [String], in directory: URL? = nil) throws -> Run {
    ZeroshotProcess.finish(try startZeroshot(arguments, in: directory))
}

/// A loopback HTTP server with a JPEG at any path ending in .jpg and an HTML page elsewhere.
enum LoopbackServerForIndex {
    static func start(jpeg: Data) throws -> LoopbackServer {
        try LoopbackServer { request in
            request.path.hasSuffix(".jpg")
                ? .init(status: 200, headers: [("Content-Type", "image/jpeg")], body: jpeg)
                : .init(status: 200, headers: [("Content-Type", "text/html")], body: Data("<html><body>a page</body></html>".utf8))
        }
    }
}
