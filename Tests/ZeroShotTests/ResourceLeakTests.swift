import Foundation
import ImageIndex
import Video
import XCTest
@testable import ZeroShot

/// No file descriptor or memory-mapping leaks: each test does a kind of work once (the warm-up: libraries load,
/// thread pools start, caches fill), counts the entries of /proc/self/fd and the lines of /proc/self/maps, repeats
/// the work several times, and checks that both counts come back to their value after the warm-up. Worker threads
/// that end or start (their stacks are mappings) can move the count for a moment, so the count is read again for up
/// to a few seconds until it is back; a leak never comes back.
final class ResourceLeakTests: XCTestCase {
    static let photos = ["chelsea.jpg", "rocket.jpg", "coffee.webp", "camera_gray.png", "astronaut_exif6.jpg",
                         "cifar10_00_3.png"].map {
        fixturesDirectory.appendingPathComponent("pipeline/images/\($0)")
    }
    static let labels = ["cat", "rocket", "cup of coffee", "camera"]

    struct Counts: Equatable, CustomStringConvertible {
        var fds: Int
        var maps: Int
        var description: String { "\(fds) file descriptors, \(maps) mappings" }
    }

    /// Open file descriptors (entries of /proc/self/fd, less the one listing it) and mappings (lines of
    /// /proc/self/maps).
    static func counts() throws -> Counts {
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count - 1
        // Read with read(2): Foundation's file reading sizes its buffer from st_size, 0 for /proc files.
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(fd) }
        var lines = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw CocoaError(.fileReadUnknown) }
            if n == 0 { break }
            lines += buffer[0..<n].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        }
        return Counts(fds: fds, maps: lines)
    }

    /// Runs `work` once (warm-up), counts, runs it `rounds` more times, and asserts that the counts come back to
    /// the counts after the warm-up (allowing no growth), waiting up to 5 s for transient threads.
    func assertNoLeak(_ what: String, rounds: Int = 5, file: StaticString = #filePath, line: UInt = #line,
                      _ work: () throws -> Void) throws {
        let (before, after) = try Self.countsAround(rounds: rounds, work)
        XCTAssertLessThanOrEqual(after.fds, before.fds,
                                 "\(what): file descriptors grew from \(before.fds) to \(after.fds) over \(rounds) rounds",
                                 file: file, line: line)
        // ThreadSanitizer's runtime maps its own shadow and trace memory as the process goes on (3 mappings over 10
        // rounds of opening the photo index): under it only descriptors are counted.
        if ProcessInfo.processInfo.environment["ZEROSHOT_SANITIZER"] == "thread" { return }
        XCTAssertLessThanOrEqual(after.maps, before.maps,
                                 "\(what): mappings grew from \(before.maps) to \(after.maps) over \(rounds) rounds",
                                 file: file, line: line)
    }

    /// The counts after two warm-up runs of `work`, and after `rounds` more (read again for up to 5 s while they
    /// are above).
    static func countsAround(rounds: Int, patience: TimeInterval = 5,
                             _ work: () throws -> Void) throws -> (before: Counts, after: Counts) {
        try work()
        try work()
        let before = try counts()
        for _ in 0..<rounds { try work() }
        var after = try counts()
        let deadline = Date().addingTimeInterval(patience)
        while (after.fds > before.fds || after.maps > before.maps) && Date() < deadline {
            usleep(50_000)
            after = try counts()
        }
        return (before, after)
    }

    /// The counts see a leak: a descriptor and 32 mappings kept per round. Worker threads of earlier tests that end
    /// meanwhile take their stacks (two mappings each) out of the count, so the mappings kept outnumber them by far
    /// and only half of them are asked for.
    func testTheCountsSeeALeak() throws {
        var fds: [Int32] = [], maps: [UnsafeMutableRawPointer] = []
        defer {
            for fd in fds { close(fd) }
            for map in maps { munmap(map, 4096) }
        }
        let (before, after) = try Self.countsAround(rounds: 3, patience: 0.2) {
            fds.append(open("/dev/null", O_RDONLY | O_CLOEXEC))
            for _ in 0..<32 {
                // Alternating protection: neighbouring pages are never merged into one mapping.
                let protection = maps.count % 2 == 0 ? PROT_NONE : PROT_READ
                maps.append(mmap(nil, 4096, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!)
            }
        }
        XCTAssertEqual(after.fds, before.fds + 3)
        XCTAssertGreaterThanOrEqual(after.maps, before.maps + 48, "96 mappings kept")
    }

    static func classifier(_ model: String = "tiny-f16") throws -> ZeroShotClassifier {
        try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/\(model)"),
                               options: .init(batchSize: 4, warn: { _ in }))
    }

    func testClassifyingManyTimesLeaksNothing() throws {
        let classifier = try Self.classifier()
        let inputs = Self.photos.map { ImageInput.file($0) }
        try assertNoLeak("classify", rounds: 10) {
            let results = try classifier.classify(inputs, candidateLabels: Self.labels)
            XCTAssertEqual(results.count, inputs.count)
            for result in results { _ = try result.get() }
            // Encoded bytes and the streaming form too.
            let data = try Data(contentsOf: Self.photos[0])
            _ = try classifier.classify(.encoded(data), candidateLabels: Self.labels)
            try classifier.classify(Self.photos, candidateLabels: Self.labels,
                                    load: { try ImageDecoder.decode(contentsOf: $0) }) { _, result in
                _ = try result.get()
            }
        }
    }

    func testLoadingAndDroppingModelsLeaksNothing() throws {
        // Memory-mapped safetensors (one file, shards, F16/BF16/F32), each family's tokenizer.
        let models = ["tiny-f16", "tiny-bf16", "tiny-sharded", "siglip-p8-nomask", "chinese-clip-odd"]
        try assertNoLeak("load and drop a model", rounds: 4) {
            for model in models {
                let classifier = try Self.classifier(model)
                _ = try classifier.classify(.file(Self.photos[0]), candidateLabels: Self.labels)
            }
        }
    }

    func testLoadingTokenizersLeaksNothing() throws {
        let models = ["tiny-f16", "tiny-legacy-eos", "siglip-p8-nomask", "chinese-clip-odd"]
        try assertNoLeak("load tokenizers", rounds: 5) {
            for model in models {
                let tokenizer = try AutoTokenizer.load(directory: fixturesDirectory.appendingPathComponent("models/\(model)"))
                XCTAssertFalse(tokenizer.encode("This is a photo of a cat.").isEmpty)
            }
        }
    }

    func testImagesThatFailToDecodeLeakNothing() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        // Truncated files of every format, a file that is no image, one over the pixel limit, a missing one.
        var bad: [URL] = []
        for photo in Self.photos + [fixturesDirectory.appendingPathComponent("pipeline/images/coffee_small.png")] {
            let bytes = try Data(contentsOf: photo)
            for fraction in [0.1, 0.5, 0.9] {
                let url = dir.appendingPathComponent("cut-\(fraction)-\(photo.lastPathComponent)")
                try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: url)
                bad.append(url)
            }
        }
        let gif = Data("GIF89a".utf8) + Data([0x10, 0x00, 0x10, 0x00, 0xF0, 0, 0]) + Data(repeating: 0x2C, count: 40)
        try gif.write(to: dir.appendingPathComponent("broken.gif"))
        var bmp = Data("BM".utf8) + Data(repeating: 0, count: 12) + Data([40, 0, 0, 0])
        bmp += Data([0x10, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 24, 0]) + Data(repeating: 0, count: 24)
        try bmp.write(to: dir.appendingPathComponent("broken.bmp"))
        try Data("not an image at all".utf8).write(to: dir.appendingPathComponent("text.jpg"))
        bad += ["broken.gif", "broken.bmp", "text.jpg", "missing.png"].map { dir.appendingPathComponent($0) }
        let classifier = try Self.classifier()
        try assertNoLeak("images that fail to decode", rounds: 5) {
            var failures = 0
            for url in bad {
                do { _ = try ImageDecoder.decode(contentsOf: url) } catch { failures += 1 }
            }
            XCTAssertGreaterThan(failures, bad.count / 2)
            // Too many pixels.
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: Self.photos[0], maxPixels: 100))
            // Through the classifier: each fails alone.
            let results = try classifier.classify(bad.map { .file($0) }, candidateLabels: Self.labels)
            XCTAssertEqual(results.count, bad.count)
        }
    }

    func testDecodingVideosLeaksNothing() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let photos = [(Self.photos[0], 0.5), (Self.photos[1], 0.5)]
        let mp4 = try TestVideos.make("clip.mp4", in: dir, photos: photos)
        let mkv = try TestVideos.make("clip.mkv", in: dir, photos: photos,
                                      codec: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "200k"])
        let bytes = try Data(contentsOf: mp4)
        let truncated = dir.appendingPathComponent("truncated.mp4")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let garbage = dir.appendingPathComponent("garbage.mp4")
        try (bytes.prefix(64) + Data(repeating: 0xA5, count: 4096)).write(to: garbage)
        let sampling = VideoSampling(mode: .every(seconds: 0.2))
        try assertNoLeak("decode videos", rounds: 5) {
            for video in [mp4, mkv] {
                let reader = try VideoReader(path: video.path, name: video.lastPathComponent)
                var frames = 0
                _ = try reader.forEachFrame(sampling) { frame in
                    _ = try frame.rgbImage()
                    frames += 1
                }
                XCTAssertGreaterThan(frames, 2)
                _ = try reader.frame(at: 0.6).rgbImage()
            }
            // From memory (a download), and videos that fail part way or at once.
            let reader = try VideoReader(data: bytes, name: "download.mp4")
            _ = try reader.forEachFrame(sampling) { _ = try $0.rgbImage() }
            for video in [truncated, garbage] {
                do {
                    let reader = try VideoReader(path: video.path, name: video.lastPathComponent)
                    _ = try reader.forEachFrame(sampling) { _ = try $0.rgbImage() }
                } catch {}
            }
        }
    }

    func testOpeningAndClosingThePhotoIndexLeaksNothing() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let path = dir.appendingPathComponent("photos.db").path
        _ = try ImageIndex(path: path)
        let notSQLite = dir.appendingPathComponent("not.db")
        try Data("SQLite format 3\0 but not really".utf8 + Data(repeating: 7, count: 4096)).write(to: notSQLite)
        let text = dir.appendingPathComponent("text.db")
        try Data("hello".utf8).write(to: text)
        try assertNoLeak("open and close the photo index", rounds: 10) {
            do {
                let index = try ImageIndex(path: path)
                XCTAssertEqual(try index.count(), 0)
            }
            do {
                let index = try ImageIndex(path: path, create: false, readOnly: true)
                _ = try index.contents()
                _ = try index.integrityCheck()
            }
            for hostile in [notSQLite, text] {
                XCTAssertThrowsError(try ImageIndex(path: hostile.path, create: false).count())
            }
            XCTAssertThrowsError(try ImageIndex(path: dir.appendingPathComponent("none.db").path, create: false))
        }
    }
}
