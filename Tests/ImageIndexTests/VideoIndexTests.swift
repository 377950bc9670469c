import Foundation
import GRDB
import ImageIndex
import Inputs
import TestSupport
import Video
import XCTest
import ZeroShot

/// Schema 2 (one row per video frame), the migration of schema 1, and search over frames.
final class IndexSchemaTests: XCTestCase {
    /// The statements of schema 1, as indexes were made before videos.
    static let schema1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT);
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime REAL,
            sha256 TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            indexed_at REAL NOT NULL
        );
        PRAGMA application_id = 1515407704;
        PRAGMA user_version = 1;
        """

    func testNewIndexIsSchema2WithPathAndTimeUnique() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("new.db").path
        _ = try ImageIndex(path: db)
        try DatabaseQueue(path: db).write { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA user_version"), 2)
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(images)").map { $0["name"] as String }
            XCTAssertEqual(columns, ["id", "path", "time", "sampling", "size", "mtime", "sha256", "width", "height",
                                     "embedding", "indexed_at"])
            func insert(_ path: String, _ time: Double?) throws {
                try db.execute(sql: """
                    INSERT INTO images (path, time, sampling, size, mtime, sha256, width, height, embedding, indexed_at)
                    VALUES (?, ?, ?, 1, 0, 'x', 1, 1, x'00', 0)
                    """, arguments: [path, time, time == nil ? nil : "every=1"])
            }
            try insert("/v.mp4", 0)
            try insert("/v.mp4", 1)
            try insert("/a.jpg", nil)
            // A still image stays unique per path (NULL times are not distinct here); a frame per (path, time).
            XCTAssertThrowsError(try insert("/a.jpg", nil))
            XCTAssertThrowsError(try insert("/v.mp4", 1))
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM images"), 3)
        }
    }

    /// A schema-1 index made with the old statements from the rows of a real index: a read-only open reads it as
    /// is, an open for writing rebuilds it as schema 2 with the same rows, and a re-run finds them unchanged.
    func testSchema1IndexIsReadAsIsAndMigratedWhenOpenedForWriting() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let current = dir.appendingPathComponent("current.db").path
        XCTAssertEqual(try ImageIndex(path: current).update([library.path], classifier: tinyClassifier()).added, 8)
        let expected = try ImageIndex(path: current).records()

        let old = dir.appendingPathComponent("old.db").path
        try DatabaseQueue(path: old).writeWithoutTransaction { db in
            try db.execute(sql: Self.schema1)
            try db.execute(sql: "ATTACH DATABASE ? AS current", arguments: [current])
            try db.execute(sql: "INSERT INTO meta SELECT key, value FROM current.meta")
            try db.execute(sql: """
                INSERT INTO images (path, size, mtime, sha256, width, height, embedding, indexed_at)
                SELECT path, size, mtime, sha256, width, height, embedding, indexed_at FROM current.images ORDER BY path DESC
                """)
            try db.execute(sql: "DETACH DATABASE current")
        }
        func version() throws -> Int { try DatabaseQueue(path: old).read { try Int.fetchOne($0, sql: "PRAGMA user_version") ?? 0 } }
        func ids() throws -> [Int64] { try DatabaseQueue(path: old).read { try Int64.fetchAll($0, sql: "SELECT id FROM images ORDER BY path") } }
        let idsBefore = try ids()

        let readOnly = try ImageIndex(path: old, create: false, readOnly: true)
        XCTAssertEqual(try readOnly.records(), expected)
        XCTAssertEqual(try readOnly.contents(), .init(images: 8, videos: 0, frames: 0))
        let matrix = try readOnly.embeddingMatrix()
        XCTAssertEqual(matrix.paths, expected.map(\.path))
        XCTAssertFalse(matrix.hasFrames)
        XCTAssertEqual(try version(), 1, "a read-only open leaves schema 1")

        let writable = try ImageIndex(path: old)
        XCTAssertEqual(try version(), 2)
        XCTAssertEqual(try writable.records(), expected)
        XCTAssertEqual(try ids(), idsBefore, "rows keep their ids")
        XCTAssertEqual(try writable.integrityCheck(), "ok")
        try DatabaseQueue(path: old).read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'images_path_time'"),
                           "CREATE UNIQUE INDEX images_path_time ON images (path, ifnull(time, -1))")
            XCTAssertFalse(try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE name = 'images_v2'") ?? false)
        }
        let summary = try writable.update([library.path], classifier: tinyClassifier())
        XCTAssertEqual([summary.added, summary.updated, summary.unchanged, summary.failed], [0, 0, 8, 0])
        // Opened again: nothing more to migrate.
        XCTAssertEqual(try ImageIndex(path: old).records(), expected)
    }

    /// Best frame per video, --all-frames, and top-k counting hits after the grouping.
    func testSearchGivesTheBestFramePerVideoUnlessAllFrames() throws {
        // Rows in path order (a video's frames by time), 1-d embeddings: the score is the value.
        let paths = ["/a.jpg", "/v.mp4", "/v.mp4", "/v.mp4", "/w.mp4", "/w.mp4", "/z.jpg"]
        let times: [Double?] = [nil, 0, 1, 2, 0, 1.5, nil]
        let values: [Float] = [0.5, 0.2, 0.9, 0.9, 0.1, 0.3, 0.4]
        let matrix = EmbeddingMatrix(paths: paths, times: times, dimension: 1, values: values)
        XCTAssertTrue(matrix.hasFrames)
        let grouped = try matrix.search([1], topK: 10)
        XCTAssertEqual(grouped, [
            SearchHit(path: "/v.mp4", time: 1, score: 0.9), // the earlier of two equal frames
            SearchHit(path: "/a.jpg", score: 0.5),
            SearchHit(path: "/z.jpg", score: 0.4),
            SearchHit(path: "/w.mp4", time: 1.5, score: 0.3),
        ])
        XCTAssertEqual(try matrix.search([1], topK: 2), Array(grouped.prefix(2)))
        let all = try matrix.search([1], topK: 10, allFrames: true)
        XCTAssertEqual(all.map(\.path), ["/v.mp4", "/v.mp4", "/a.jpg", "/z.jpg", "/w.mp4", "/v.mp4", "/w.mp4"])
        XCTAssertEqual(all.map(\.time), [1, 2, nil, nil, 1.5, 0, 0])
        XCTAssertEqual(try matrix.search([1], topK: 3, allFrames: true).count, 3)
        // A query that prefers low values: another frame of each video wins.
        XCTAssertEqual(try matrix.search([-1], topK: 2), [SearchHit(path: "/w.mp4", time: 0, score: -0.1),
                                                          SearchHit(path: "/v.mp4", time: 0, score: -0.2)])
        // Without frames, as before.
        let images = EmbeddingMatrix(paths: ["/a", "/b"], dimension: 1, values: [0.1, 0.2])
        XCTAssertEqual(try images.search([1], topK: 5), [SearchHit(path: "/b", score: 0.2), SearchHit(path: "/a", score: 0.1)])
        XCTAssertEqual(SearchHit(path: "/v.mp4", time: 12.0333, score: 1).timeText, "12.033")
        XCTAssertNil(SearchHit(path: "/a", score: 1).timeText)
    }

    func testStreamingHashIsTheHashOfTheBytes() throws {
        let dir = try temporaryDirectory(self)
        let file = dir.appendingPathComponent("data.bin")
        var bytes = Data(count: 3 * 4096 + 17)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 7) }
        try bytes.write(to: file)
        for chunk in [1, 4096, 1 << 20] {
            let hashed = try SHA256.hexOfFile(file.path, name: "data.bin", chunkSize: chunk)
            XCTAssertEqual(hashed.hex, SHA256.hex(bytes))
            XCTAssertEqual(hashed.size, bytes.count)
            XCTAssertEqual(hashed.mtime, InputLoader.fileStatus(file.path)?.mtime)
        }
        let empty = dir.appendingPathComponent("empty")
        try Data().write(to: empty)
        XCTAssertEqual(try SHA256.hexOfFile(empty.path, name: "empty").hex, SHA256.hex(Data()))
        XCTAssertThrowsError(try SHA256.hexOfFile(dir.appendingPathComponent("missing").path, name: "missing")) { error in
            XCTAssertTrue("\(error)".hasPrefix("missing: cannot read the file"), "\(error)")
        }
        XCTAssertThrowsError(try SHA256.hexOfFile(dir.path, name: "dir"))
    }
}

// MARK: - Videos (made with Debian's ffmpeg at test time)

/// The `ffmpeg` command that makes the test videos; nil (the test skips) when it is missing, unless ZEROSHOT_CI=1
/// (then the test fails).
func ffmpegCommand() throws -> String? {
    let path = "/usr/bin/ffmpeg"
    if FileManager.default.isExecutableFile(atPath: path) { return path }
    if ProcessInfo.processInfo.environment["ZEROSHOT_CI"] == "1" {
        XCTFail("ffmpeg is missing at \(path) (ZEROSHOT_CI=1: the video tests must run)")
    }
    return nil
}

/// A tiny H.264 video made of `photos`, each shown `seconds` at 10 frames per second, 64x48 pixels (cut times:
/// 0, seconds, 2 x seconds, ...), written to `url`.
func makeVideo(_ url: URL, photos: [URL], seconds: Double = 1,
               codec: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10"],
               extra: [String] = []) throws {
    guard let ffmpeg = try ffmpegCommand() else { throw XCTSkip("ffmpeg is missing") }
    var arguments = ["-nostdin", "-loglevel", "error", "-y"]
    for p in photos { arguments += ["-loop", "1", "-t", "\(seconds)", "-i", p.path] }
    let scaled = photos.indices.map { "[\($0):v]scale=64:48,setsar=1,fps=10[v\($0)]" }.joined(separator: ";")
    let inputs = photos.indices.map { "[v\($0)]" }.joined()
    arguments += ["-filter_complex", "\(scaled);\(inputs)concat=n=\(photos.count):v=1:a=0[out]", "-map", "[out]"]
        + codec + extra + [url.path]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ffmpeg)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "ffmpeg", code: Int(process.terminationStatus),
                      userInfo: [NSLocalizedDescriptionKey: "ffmpeg failed: " + String(decoding: message, as: UTF8.self)])
    }
}

final class VideoIndexTests: XCTestCase {
    struct Events {
        var failed: [(String, String)] = []
        var warnings: [String] = []
    }

    func update(_ db: String, _ arguments: [String], sampling: VideoSampling = VideoSampling(),
                events: inout Events) throws -> ImageIndex.UpdateSummary {
        var collected = Events()
        let summary = try ImageIndex(path: db).update(arguments, classifier: tinyClassifier(),
                                                      options: .init(sampling: sampling)) { event in
            switch event {
            case .failed(let input, let error): collected.failed.append((input, "\(error)"))
            case .warning(_, let message): collected.warnings.append(message)
            default: break
            }
        }
        events = collected
        return summary
    }

    func update(_ db: String, _ arguments: [String], sampling: VideoSampling = VideoSampling()) throws -> ImageIndex.UpdateSummary {
        var events = Events()
        let summary = try update(db, arguments, sampling: sampling, events: &events)
        XCTAssertTrue(events.failed.isEmpty, "\(events.failed)")
        return summary
    }

    /// A folder with two photos and a 3-second video of three other photos (cuts at 0, 1 and 2 s).
    func library(_ dir: URL) throws -> (folder: URL, video: URL) {
        let folder = dir.appendingPathComponent("media")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: photo("chelsea.jpg"), to: folder.appendingPathComponent("cat.jpg"))
        try FileManager.default.copyItem(at: photo("coffee.webp"), to: folder.appendingPathComponent("coffee.webp"))
        let video = folder.appendingPathComponent("clip.mp4")
        try makeVideo(video, photos: [photo("rocket.jpg"), photo("imagenet_00_243.jpg"), photo("camera_gray.png")])
        return (folder, video)
    }

    func testFramesAreRowsAndReRunsFollowTheSampling() throws {
        let dir = try temporaryDirectory(self)
        let (folder, video) = try library(dir)
        let db = dir.appendingPathComponent("index.db").path
        let first = try update(db, [folder.path])
        XCTAssertEqual([first.added, first.updated, first.unchanged, first.failed], [3, 0, 0, 0], "a video is one file")

        let index = try ImageIndex(path: db)
        let frames = try index.records().filter { $0.path == video.path }
        XCTAssertEqual(frames.map(\.time), [0, 1, 2], "every second from 0 of a 3-second video")
        guard frames.count == 3 else { return }
        let bytes = try Data(contentsOf: video)
        for frame in frames {
            XCTAssertEqual(frame.sampling, "every=1")
            XCTAssertEqual(frame.sha256, SHA256.hex(bytes))
            XCTAssertEqual(frame.size, bytes.count)
            XCTAssertEqual(frame.mtime, InputLoader.fileStatus(video.path)?.mtime)
            XCTAssertEqual([frame.width, frame.height], [64, 48])
        }
        // Each frame's embedding is that of the picture the reader gives at its time (one image per tower call).
        let reader = try VideoReader(path: video.path, name: video.path)
        for frame in frames {
            let picture = try reader.frame(at: frame.time!).rgbImage()
            let expected = try tinyClassifier().imageEmbeddings([.pixels(picture)])[0].get()
            XCTAssertEqual(frame.embedding.map(\.bitPattern), expected.map(\.bitPattern), "frame at \(frame.time!)")
        }
        XCTAssertNotEqual(frames[0].embedding, frames[1].embedding, "other photos after the cuts")
        XCTAssertEqual(try index.contents(), .init(images: 2, videos: 1, frames: 3))
        XCTAssertTrue(try index.records().filter { $0.path != video.path }.allSatisfy { $0.time == nil && $0.sampling == nil })

        // The same sampling: unchanged, nothing read.
        let again = try update(db, [folder.path])
        XCTAssertEqual([again.added, again.updated, again.unchanged], [0, 0, 3])
        // Other sampling: the video is sampled again, the images stay.
        let half = try update(db, [folder.path], sampling: VideoSampling(mode: .every(seconds: 0.5)))
        XCTAssertEqual([half.added, half.updated, half.unchanged], [0, 1, 2])
        let resampled = try ImageIndex(path: db).records().filter { $0.path == video.path }
        XCTAssertEqual(resampled.map(\.time), [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertTrue(resampled.allSatisfy { $0.sampling == "every=0.5" })
        XCTAssertEqual(resampled.first { $0.time == 1 }?.embedding, frames[1].embedding)
        // --max-frames is part of the key: sampled again, and the cut is a warning naming the video.
        var events = Events()
        let limited = try update(db, [folder.path], sampling: VideoSampling(mode: .every(seconds: 0.5), maxFrames: 2),
                                 events: &events)
        XCTAssertEqual([limited.updated, limited.unchanged, limited.failed], [1, 2, 0])
        XCTAssertEqual(try ImageIndex(path: db).records().filter { $0.path == video.path }.map(\.time), [0, 0.5])
        XCTAssertTrue(events.warnings.contains { $0.contains(video.path) && $0.contains("--max-frames") }, "\(events.warnings)")
        // Touched (same bytes): only size and time are refreshed.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: video.path)
        let touched = try update(db, [folder.path], sampling: VideoSampling(mode: .every(seconds: 0.5), maxFrames: 2))
        XCTAssertEqual([touched.updated, touched.unchanged], [1, 2])
        let refreshed = try ImageIndex(path: db).records().filter { $0.path == video.path }
        XCTAssertEqual(refreshed.map(\.time), [0, 0.5])
        XCTAssertTrue(refreshed.allSatisfy { $0.mtime == InputLoader.fileStatus(video.path)?.mtime })
        // Scene sampling: another key, sampled again from the first frame.
        let scenes = try update(db, [folder.path], sampling: VideoSampling(mode: .scenes(threshold: 0.4, maxGap: 10)))
        XCTAssertEqual([scenes.updated, scenes.unchanged], [1, 2])
        let sceneRows = try ImageIndex(path: db).records().filter { $0.path == video.path }
        XCTAssertEqual(sceneRows.first?.time, 0)
        XCTAssertTrue(sceneRows.allSatisfy { $0.sampling == "scenes=0.4,max-gap=10" }, "\(sceneRows.map(\.sampling))")
        XCTAssertEqual(try update(db, [folder.path], sampling: VideoSampling(mode: .scenes(threshold: 0.4, maxGap: 10))).unchanged, 3)
    }

    func testAChangedVideoIsReplacedAndAGoneOneRemoved() throws {
        let dir = try temporaryDirectory(self)
        let (folder, video) = try library(dir)
        let db = dir.appendingPathComponent("index.db").path
        _ = try update(db, [folder.path])
        let before = try ImageIndex(path: db).records().filter { $0.path == video.path }
        // Another, shorter video at the same path: its two frames replace the three.
        try makeVideo(video, photos: [photo("coffee.webp"), photo("chelsea.jpg")])
        let changed = try update(db, [folder.path])
        XCTAssertEqual([changed.added, changed.updated, changed.unchanged], [0, 1, 2])
        let after = try ImageIndex(path: db).records().filter { $0.path == video.path }
        XCTAssertEqual(after.map(\.time), [0, 1])
        guard after.count == 2, before.count == 3 else { return }
        XCTAssertEqual(Set(after.map(\.sha256)), [SHA256.hex(try Data(contentsOf: video))])
        XCTAssertNotEqual(after[0].embedding, before[0].embedding)
        // An image now where the video was: one row, no frames.
        try FileManager.default.removeItem(at: video)
        try FileManager.default.copyItem(at: photo("rocket.jpg"), to: video)
        let image = try update(db, [folder.path])
        XCTAssertEqual([image.updated, image.unchanged], [1, 2])
        XCTAssertEqual(try ImageIndex(path: db).records().filter { $0.path == video.path }.map(\.time), [nil])
        // Back to a video, then gone: all its rows are removed, counted once.
        try FileManager.default.removeItem(at: video)
        try makeVideo(video, photos: [photo("rocket.jpg"), photo("chelsea.jpg")])
        XCTAssertEqual(try update(db, [folder.path]).updated, 1)
        XCTAssertEqual(try ImageIndex(path: db).contents(), .init(images: 2, videos: 1, frames: 2))
        try FileManager.default.removeItem(at: video)
        let gone = try update(db, [folder.path])
        XCTAssertEqual([gone.removed, gone.unchanged], [1, 2])
        XCTAssertEqual(try ImageIndex(path: db).contents(), .init(images: 2, videos: 0, frames: 0))
    }

    /// A video whose second half is corrupt (Motion JPEG in AVI, the JPEG data of its last 20 frames zeroed): the
    /// frames before are kept, the file is reported naming it and the time, and the next run samples it again.
    func testABrokenVideoKeepsItsFirstFramesAndIsReported() throws {
        let dir = try temporaryDirectory(self)
        let folder = dir.appendingPathComponent("media")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: photo("chelsea.jpg"), to: folder.appendingPathComponent("cat.jpg"))
        let whole = dir.appendingPathComponent("whole.avi")
        try makeVideo(whole, photos: [photo("rocket.jpg"), photo("chelsea.jpg"), photo("camera_gray.png"),
                                      photo("imagenet_00_243.jpg")],
                      codec: ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p"])
        var bytes = [UInt8](try Data(contentsOf: whole))
        var starts: [Int] = []
        for i in 0..<(bytes.count - 3) where bytes[i] == 0xFF && bytes[i + 1] == 0xD8 && bytes[i + 2] == 0xFF { starts.append(i) }
        XCTAssertEqual(starts.count, 40, "a JPEG per frame: 4 s at 10 frames per second")
        for start in starts[(starts.count / 2)...] {
            for i in (start + 200)..<min(bytes.count, start + 400) { bytes[i] = 0 }
        }
        let broken = folder.appendingPathComponent("broken.avi")
        try Data(bytes).write(to: broken)
        let db = dir.appendingPathComponent("index.db").path
        var events = Events()
        let summary = try update(db, [folder.path], events: &events)
        XCTAssertEqual([summary.added, summary.updated, summary.failed], [1, 0, 1], "the photo is added, the video failed")
        let frames = try ImageIndex(path: db).records().filter { $0.path == broken.path }
        XCTAssertEqual(frames.map(\.time), [0, 1], "the frames before the corrupt half are kept")
        XCTAssertTrue(frames.allSatisfy { $0.sampling == "every=1;partial" })
        XCTAssertEqual(Set(frames.map(\.sha256)), [SHA256.hex(Data(bytes))])
        XCTAssertEqual(events.failed.count, 1, "\(events.failed)")
        XCTAssertEqual(events.failed.first?.0, broken.path)
        XCTAssertTrue(events.failed.first?.1.contains("\(broken.path): decoding stopped after 1.900 s") == true, "\(events.failed)")
        // Sampled again by the next run (and reported again); its frames stay.
        var again = Events()
        let rerun = try update(db, [folder.path], events: &again)
        XCTAssertEqual([rerun.unchanged, rerun.failed], [1, 1])
        XCTAssertEqual(again.failed.map(\.0), [broken.path])
        XCTAssertEqual(try ImageIndex(path: db).records().filter { $0.path == broken.path }.map(\.time), [0, 1])
        // Repaired: sampled whole, no longer partial.
        try FileManager.default.removeItem(at: broken)
        try FileManager.default.copyItem(at: whole, to: broken)
        let repaired = try update(db, [folder.path])
        XCTAssertEqual([repaired.updated, repaired.unchanged, repaired.failed], [1, 1, 0])
        let whole4 = try ImageIndex(path: db).records().filter { $0.path == broken.path }
        XCTAssertEqual(whole4.map(\.time), [0, 1, 2, 3])
        XCTAssertTrue(whole4.allSatisfy { $0.sampling == "every=1" })
    }

    func testMergeCopiesFramesAndAVideoKeepsTheLastSourcesFrames() throws {
        let dir = try temporaryDirectory(self)
        let (folder, video) = try library(dir)
        let a = dir.appendingPathComponent("a.db").path, b = dir.appendingPathComponent("b.db").path
        _ = try update(a, [folder.path])
        _ = try update(b, [video.path], sampling: VideoSampling(mode: .every(seconds: 1.5)))
        let merged = dir.appendingPathComponent("merged.db").path
        let index = try ImageIndex(path: merged)
        let first = try index.merge(from: a)
        XCTAssertEqual([first.added, first.replaced], [3, 0], "files, not rows")
        XCTAssertEqual(try index.records(), try ImageIndex(path: a).records())
        let second = try index.merge(from: b)
        XCTAssertEqual([second.added, second.replaced], [0, 1])
        let frames = try index.records().filter { $0.path == video.path }
        XCTAssertEqual(frames, try ImageIndex(path: b).records(), "the video's frames are b's only")
        XCTAssertEqual(frames.map(\.time), [0, 1.5])
        XCTAssertEqual(try index.contents(), .init(images: 2, videos: 1, frames: 2))
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }

    /// A video URL: downloaded, sampled, and hashed; stored under the URL without a modification time.
    func testAVideoURLIsIndexedUnderItsURL() throws {
        let dir = try temporaryDirectory(self)
        let (_, video) = try library(dir)
        let bytes = try Data(contentsOf: video)
        let server = try LoopbackServer { _ in .init(status: 200, headers: [("Content-Type", "video/mp4")], body: bytes) }
        defer { server.stop() }
        let url = server.baseURL.appendingPathComponent("clip.mp4").absoluteString
        let db = dir.appendingPathComponent("index.db").path
        XCTAssertEqual(try update(db, [url]).added, 1)
        let frames = try ImageIndex(path: db).records()
        XCTAssertEqual(frames.map(\.path), [url, url, url])
        XCTAssertEqual(frames.map(\.time), [0, 1, 2])
        XCTAssertTrue(frames.allSatisfy { $0.mtime == nil && $0.sha256 == SHA256.hex(bytes) && $0.size == bytes.count })
        // The same bytes again: unchanged.
        let again = try update(db, [url])
        XCTAssertEqual([again.added, again.updated, again.unchanged], [0, 0, 1])
    }

    /// Two shards of a folder with videos, merged, hold exactly the rows of one run over it.
    func testShardsOfVideosMergeIntoTheRowsOfOneRun() throws {
        let dir = try temporaryDirectory(self)
        let (folder, _) = try library(dir)
        for (i, photos) in [[photo("chelsea.jpg"), photo("rocket.jpg")], [photo("camera_gray.png"), photo("coffee.webp")]].enumerated() {
            try makeVideo(folder.appendingPathComponent("more-\(i).mkv"), photos: photos)
        }
        let single = dir.appendingPathComponent("single.db").path
        XCTAssertEqual(try update(single, [folder.path]).added, 5)
        let merged = try ImageIndex(path: dir.appendingPathComponent("merged.db").path)
        var added = 0
        for k in 0..<2 {
            let shard = dir.appendingPathComponent("shard-\(k).db").path
            let summary = try ImageIndex(path: shard).update([folder.path], classifier: tinyClassifier(),
                                                             options: .init(shard: try Shard(parsing: "\(k)/2")))
            added += summary.added
            // A re-run of the shard leaves the other shard's files alone.
            let again = try ImageIndex(path: shard).update([folder.path], classifier: tinyClassifier(),
                                                           options: .init(shard: try Shard(parsing: "\(k)/2")))
            XCTAssertEqual([again.added, again.removed, again.unchanged], [0, 0, summary.added])
            _ = try merged.merge(from: shard)
        }
        XCTAssertEqual(added, 5)
        XCTAssertEqual(try merged.records(), try ImageIndex(path: single).records())
        XCTAssertEqual(try merged.contents(), .init(images: 2, videos: 3, frames: 7))
    }

    func testCommandLineSearchAndClassifyGiveFrameTimes() throws {
        let dir = try temporaryDirectory(self)
        let (folder, video) = try library(dir)
        let db = dir.appendingPathComponent("index.db").path
        let model = fixtureModel().path
        let indexed = try zeroshot(["index", "--db", db, "--model", model, "--every", "0.5", "--format", "json", folder.path])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        XCTAssertEqual(indexed.stdout, #"{"added": 3, "updated": 0, "unchanged": 0, "removed": 0, "failed": 0, "skipped": 0}"# + "\n")

        func json(_ run: Run) throws -> [[String: Any]] {
            XCTAssertEqual(run.status, 0, run.stderr)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        }
        let grouped = try json(try zeroshot(["search", "--db", db, "--format", "json", "--top-k", "10", "a rocket"]))
        XCTAssertEqual(grouped.count, 3, "one hit per file")
        let hit = try XCTUnwrap(grouped.first { $0["path"] as? String == video.path })
        XCTAssertEqual(Array(hit.keys).sorted(), ["path", "score", "time"])
        XCTAssertTrue(grouped.filter { $0["path"] as? String != video.path }.allSatisfy { $0["time"] == nil })
        let all = try json(try zeroshot(["search", "--db", db, "--format", "json", "--top-k", "100", "--all-frames", "a rocket"]))
        let videoHits = all.filter { $0["path"] as? String == video.path }
        XCTAssertEqual(videoHits.count, 6)
        // The grouped hit is the best of the video's frames.
        let best = videoHits.max { ($0["score"] as! Double) < ($1["score"] as! Double) }!
        XCTAssertEqual(hit["time"] as? Double, best["time"] as? Double)
        XCTAssertEqual(try json(try zeroshot(["search", "--db", db, "--format", "json", "--top-k", "2", "--all-frames", "x"])).count, 2)
        // The time as written: 3 decimals.
        let jsonl = try zeroshot(["search", "--db", db, "--format", "jsonl", "--top-k", "100", "--all-frames", "a rocket"])
        XCTAssertTrue(jsonl.stdout.contains(#""time": 1.500, "score""#), jsonl.stdout)
        let csv = try zeroshot(["search", "--db", db, "--format", "csv", "--top-k", "10", "a rocket"])
        XCTAssertTrue(csv.stdout.hasPrefix("path,time,score\n"), csv.stdout)
        XCTAssertTrue(csv.stdout.contains("\(folder.path)/cat.jpg,,"), csv.stdout)

        // classify --db: frames with "time", images without.
        let classified = try json(try zeroshot(["classify", "--db", db, "--labels", "rocket,cat,cup", "--format", "json"]))
        XCTAssertEqual(classified.count, 2 + 6)
        XCTAssertEqual(classified.compactMap { $0["time"] as? Double }, [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertEqual(classified.filter { $0["time"] != nil }.map { $0["image"] as? String }, Array(repeating: video.path, count: 6))
        let table = try zeroshot(["classify", "--db", db, "--labels", "rocket,cat", "--top-k", "1"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("\(video.path)\n  0.000 s\n    "), table.stdout)
        XCTAssertTrue(table.stdout.contains("\n  0.500 s\n    "), table.stdout)
        let classifiedCSV = try zeroshot(["classify", "--db", db, "--labels", "rocket,cat", "--format", "csv", "--top-k", "1"])
        XCTAssertTrue(classifiedCSV.stdout.hasPrefix("image,time,rank,label,score,logit\n"), classifiedCSV.stdout)
        XCTAssertTrue(classifiedCSV.stdout.contains("\(video.path),2.500,1,"), classifiedCSV.stdout)
        // A merged total names the videos and frames.
        let merged = dir.appendingPathComponent("merged.db").path
        let merge = try zeroshot(["merge", "--db", merged, db])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(merge.stdout.hasSuffix("\(merged): 2 images, 1 video (6 frames)\n"), merge.stdout)
    }
}
