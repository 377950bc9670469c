import Foundation
import GRDB
import ImageIndex
import Inputs
import XCTest
import ZeroShot

/// `zeroshot index`, `search`, `merge` and `classify --db` run as a user runs them.
final class CommandLineIndexTests: XCTestCase {
    var model: String { fixtureModel().path }

    /// Every column but indexed_at, embeddings as their stored bytes, in path order.
    func rows(_ db: String) throws -> [[DatabaseValue]] {
        try DatabaseQueue(path: db).read { db in
            try Row.fetchAll(db, sql: "SELECT path, size, mtime, sha256, width, height, embedding FROM images ORDER BY path")
                .map { Array($0.databaseValues) }
        }
    }

    func copies(_ root: URL, count: Int) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let sources = ["chelsea.jpg", "rocket.jpg", "coffee.webp", "camera_gray.png", "imagenet_00_243.jpg", "astronaut_exif6.jpg"]
        for i in 0..<count {
            let name = sources[i % sources.count]
            try FileManager.default.copyItem(at: photo(name), to: root.appendingPathComponent(String(format: "%04d-", i) + name))
        }
    }

    func testIndexSummaryJSONAndPerFileErrors() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        try FileManager.default.copyItem(at: decodingFixture("truncated.jpg"), to: library.appendingPathComponent("2024/broken.jpg"))
        let db = dir.appendingPathComponent("photos.db").path
        let r = try zeroshot(["index", "--db", db, "--model", model, "--format", "json", "photos"], in: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("photos/2024/broken.jpg"), r.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Int])
        XCTAssertEqual(summary, ["added": 8, "updated": 0, "unchanged": 0, "removed": 0, "failed": 1, "skipped": 1])
        // Paths are stored absolute, whatever the working directory was.
        XCTAssertTrue(try ImageIndex(path: db).records().allSatisfy { $0.path.hasPrefix(library.path + "/") })
        // Re-run without --model: the index's model; the table summary.
        try FileManager.default.removeItem(at: library.appendingPathComponent("2024/broken.jpg"))
        let again = try zeroshot(["index", "--db", db, library.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "added 0, updated 0, unchanged 8, removed 0, failed 0, skipped 1\n")
        // --files-from adds inputs after the arguments.
        let list = dir.appendingPathComponent("list.txt")
        try Data("\(photo("rocket.jpg").path)\r\n\n\(library.appendingPathComponent("2023").path)\n".utf8).write(to: list)
        let listed = try zeroshot(["index", "--db", db, "--format", "json", "--files-from", list.path, photo("coffee.webp").path])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let counts = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Int])
        XCTAssertEqual([counts["added"], counts["unchanged"]], [2, 2])
        XCTAssertEqual(try ImageIndex(path: db).count(), 10)
    }

    /// A folder without read permission is reported by name, its rows are kept (it is not gone), and the other
    /// images are indexed. Run as an unprivileged user (root reads any folder).
    func testFolderWithoutPermissionIsReportedAndItsRowsKept() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run the index as an unprivileged user")
        }
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("photos.db").path
        let fm = FileManager.default
        try fm.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir.path)
        func asNobody(_ arguments: [String]) throws -> Run {
            let (process, out, err) = try startZeroshot(["--reuid=65534", "--regid=65534", "--clear-groups",
                                                         zeroshotExecutable.path] + arguments, executable: "/usr/bin/setpriv")
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
        }
        let first = try asNobody(["index", "--db", db, "--model", model, library.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try ImageIndex(path: db).count(), 8)

        let city = library.appendingPathComponent("2024/city")
        try fm.setAttributes([.posixPermissions: 0o000], ofItemAtPath: city.path)
        defer { try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: city.path) }
        try fm.copyItem(at: photo("rocket.jpg"), to: library.appendingPathComponent("2024/new.jpg"))
        let again = try asNobody(["index", "--db", db, "--format", "json", library.path])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains(city.path) && again.stderr.contains("Permission denied"), again.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Int])
        XCTAssertEqual(summary["added"], 1)
        XCTAssertEqual(summary["removed"], 0, "the unreadable folder's rows are not removed")
        XCTAssertEqual(summary["failed"], 1)
        XCTAssertEqual(try ImageIndex(path: db).count(), 9)
        XCTAssertEqual(try ImageIndex(path: db).integrityCheck(), "ok")
    }

    func testKillNineMidRunThenResume() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        let total = 300
        try copies(library, count: total)
        let db = dir.appendingPathComponent("photos.db").path
        let (process, _, _) = try startZeroshot(["index", "--db", db, "--model", model, "--quiet", library.path])
        var seen = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if FileManager.default.fileExists(atPath: db), let n = try? ImageIndex(path: db, create: false).count(), n >= 10 {
                seen = n
                break
            }
            usleep(2000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThanOrEqual(seen, 10)

        let index = try ImageIndex(path: db)
        XCTAssertEqual(try index.integrityCheck(), "ok")
        let kept = try index.records()
        XCTAssertGreaterThanOrEqual(kept.count, seen, "rows of finished batches are kept")
        XCTAssertLessThan(kept.count, total, "killed mid-run")
        // Each kept row is complete: its embedding is the image's.
        let classifier = try tinyClassifier()
        for record in kept.prefix(12) {
            let expected = try classifier.imageEmbeddings([.file(URL(fileURLWithPath: record.path))])[0].get()
            XCTAssertEqual(record.embedding.map(\.bitPattern), expected.map(\.bitPattern), record.path)
        }

        let resumed = try zeroshot(["index", "--db", db, "--format", "json", library.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Int])
        XCTAssertEqual(summary["unchanged"], kept.count)
        XCTAssertEqual(summary["added"], total - kept.count)
        XCTAssertEqual(try ImageIndex(path: db).integrityCheck(), "ok")

        // The same rows as an uninterrupted run.
        let clean = dir.appendingPathComponent("clean.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", clean, "--model", model, library.path]).status, 0)
        XCTAssertEqual(try rows(db), try rows(clean))
    }

    func testThreeShardProcessesMergedEqualOneProcessBitForBit() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        try copies(library.appendingPathComponent("2025/more"), count: 24)
        let shards = (0..<3).map { dir.appendingPathComponent("shard-\($0).db").path }
        let runs = try (0..<3).map { k in
            try startZeroshot(["index", "--db", shards[k], "--model", model, "--shard", "\(k)/3", "--quiet", library.path])
        }
        for (process, out, err) in runs {
            _ = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, stderr)
        }
        let counts = try shards.map { try ImageIndex(path: $0).count() }
        XCTAssertEqual(counts.reduce(0, +), 32)
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "\(counts)")

        let merged = dir.appendingPathComponent("merged.db").path
        let merge = try zeroshot(["merge", "--db", merged] + shards)
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(merge.stdout.hasSuffix("\(merged): 32 images\n"), merge.stdout)
        let single = dir.appendingPathComponent("single.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", single, "--model", model, "--quiet", library.path]).status, 0)
        let a = try rows(merged), b = try rows(single)
        XCTAssertEqual(a.count, 32)
        XCTAssertEqual(a, b, "same rows, bit-identical embedding BLOBs")
        XCTAssertEqual(try ImageIndex(path: merged).integrityCheck(), "ok")
        XCTAssertEqual(try ImageIndex(path: merged).model(), try ImageIndex(path: single).model())
    }

    func testMergeOfDifferentModelsFailsNamingBoth() throws {
        let dir = try temporaryDirectory(self)
        let a = dir.appendingPathComponent("a.db").path, b = dir.appendingPathComponent("b.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", a, "--model", model, photo("rocket.jpg").path]).status, 0)
        XCTAssertEqual(try zeroshot(["index", "--db", b, "--model", fixtureModel("tiny-bf16").path, photo("chelsea.jpg").path]).status, 0)
        let out = dir.appendingPathComponent("out.db").path
        let r = try zeroshot(["merge", "--db", out, a, b])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(fixtureModel("tiny-f16").path) && r.stderr.contains(fixtureModel("tiny-bf16").path), r.stderr)
        XCTAssertTrue(r.stderr.contains(a) && r.stderr.contains(b), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written")
    }

    func testSearchJSONShapeOrderAndQueries() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("photos.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, library.path]).status, 0)
        let index = try ImageIndex(path: db)
        let classifier = try tinyClassifier()

        let r = try zeroshot(["search", "--db", db, "--top-k", "3", "--format", "json", "a photo of a cat"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let hits = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(hits.count, 3)
        for hit in hits { XCTAssertEqual(Set(hit.keys), ["path", "score"]) }
        let scores = hits.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        let expected = try index.search(query: classifier.textEmbeddings(["a photo of a cat"])[0], topK: 3)
        XCTAssertEqual(hits.compactMap { $0["path"] as? String }, expected.map(\.path))
        // Within float32 rounding: the text tower's thread count, and so its summation order, follows the load of
        // the machine in each process.
        for (s, e) in zip(scores, expected) { XCTAssertEqual(Float(s), e.score, accuracy: 1e-6) }

        // --template, --not and --image combine as documented.
        let combined = try zeroshot(["search", "--db", db, "--format", "jsonl", "--template", "a photo of {}.", "--not", "rocket",
                                     "--image", photo("coffee.webp").path, "cat"])
        XCTAssertEqual(combined.status, 0, combined.stderr)
        // Embedded as the command embeds them: the text, then the --not texts, each in its own text-tower call (a
        // fresh classifier: nothing cached from other batches), then each image on its own.
        let fresh = try ZeroShotClassifier(directory: fixtureModel(), options: .init(batchSize: 1, warn: { _ in }))
        let positive = try fresh.textEmbeddings(["a photo of cat."])[0]
        let negative = try fresh.textEmbeddings(["a photo of rocket."])[0]
        let image = try fresh.imageEmbeddings([.file(photo("coffee.webp"))])[0].get()
        let query = try XCTUnwrap(ImageIndex.combinedQuery(positive: [positive, image], negative: [negative]))
        let lines = combined.stdout.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        XCTAssertEqual(lines.count, 8, "--top-k defaults to 10; 8 images")
        XCTAssertEqual(lines.compactMap { $0?["path"] as? String }, try index.search(query: query, topK: 10).map(\.path))

        // A similar-image query finds the image itself first (batch 1 as indexed: cosine 1).
        let similar = try zeroshot(["search", "--db", db, "--format", "csv", "--top-k", "2", "--image", photo("chelsea.jpg").path])
        let csv = similar.stdout.split(separator: "\n")
        XCTAssertEqual(csv.first, "path,score")
        XCTAssertEqual(csv.count, 3)
        XCTAssertTrue(csv[1].hasPrefix(library.appendingPathComponent("2023/beach/cat.jpg").path + ","), similar.stdout)
        XCTAssertEqual(Float(csv[1].split(separator: ",").last!)!, 1, accuracy: 1e-5)

        // --not texts that cancel the query: a usage error with search's usage (not the root command's).
        let cancelled = try zeroshot(["search", "--db", db, "--not", "cat", "cat"])
        XCTAssertEqual(cancelled.status, 64, cancelled.stderr)
        XCTAssertTrue(cancelled.stderr.hasPrefix("error: the --not texts cancel the query exactly"), cancelled.stderr)
        XCTAssertTrue(cancelled.stderr.contains("Usage: zeroshot search [<options>] --db <path>"), cancelled.stderr)
        XCTAssertEqual(cancelled.stdout, "")

        // A URL as --image, read as the index reads URLs; an image that cannot be read is named.
        let server = try LoopbackServerForIndex.start(jpeg: try Data(contentsOf: photo("chelsea.jpg")))
        defer { server.stop() }
        let byURL = try zeroshot(["search", "--db", db, "--format", "csv", "--top-k", "1",
                                  "--image", server.baseURL.appendingPathComponent("cat.jpg").absoluteString])
        XCTAssertEqual(byURL.stdout, csv.prefix(2).joined(separator: "\n") + "\n", byURL.stderr)
        let missingImage = try zeroshot(["search", "--db", db, "--image", dir.appendingPathComponent("nope.jpg").path])
        XCTAssertEqual(missingImage.status, 1)
        XCTAssertTrue(missingImage.stderr.contains(dir.appendingPathComponent("nope.jpg").path), missingImage.stderr)
        XCTAssertEqual(missingImage.stdout, "")

        let table = try zeroshot(["search", "--db", db, "--top-k", "2", "rocket"])
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 2)

        // Another model is an error naming both; no such index; not SQLite.
        let other = try zeroshot(["search", "--db", db, "--model", fixtureModel("tiny-bf16").path, "cat"])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains(fixtureModel("tiny-f16").path) && other.stderr.contains(fixtureModel("tiny-bf16").path),
                      other.stderr)
        let missing = try zeroshot(["search", "--db", dir.appendingPathComponent("none.db").path, "cat"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("none.db: no such index"), missing.stderr)
        let garbage = try zeroshot(["search", "--db", photo("rocket.jpg").path, "cat"])
        XCTAssertEqual(garbage.status, 1)
        XCTAssertTrue(garbage.stderr.contains("\(photo("rocket.jpg").path): not an SQLite database"), garbage.stderr)
    }

    func testRelabelGivesClassifysOutputForEachStoredImage() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("photos.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, library.path]).status, 0)
        let paths = try ImageIndex(path: db).records().map(\.path)
        let labels = ["a cat", "a rocket", "a cup of coffee", "a dog"]
        let labelArguments = labels.flatMap { ["--label", $0] }

        for format in ["json", "jsonl", "csv", "table"] {
            let relabel = try zeroshot(["classify", "--db", db, "--format", format, "--top-k", "3"] + labelArguments)
            XCTAssertEqual(relabel.status, 0, relabel.stderr)
            // classify on each image alone (batch 1, as the index embeds), the outputs put together as classify
            // puts several images together.
            var parts: [String] = []
            for path in paths {
                let one = try zeroshot(["classify", "--model", model, "--format", format, "--top-k", "3"] + labelArguments + [path])
                XCTAssertEqual(one.status, 0, one.stderr)
                parts.append(one.stdout)
            }
            let expected: String
            switch format {
            case "json": expected = "[" + parts.map { String($0.dropFirst().dropLast(2)) }.joined(separator: ", ") + "]\n"
            case "csv": expected = "image,rank,label,score,logit\n" + parts.map { String($0.drop { $0 != "\n" }.dropFirst()) }.joined()
            case "table": expected = parts.joined(separator: "\n")
            default: expected = parts.joined()
            }
            XCTAssertEqual(relabel.stdout, expected, format)
        }
        let empty = dir.appendingPathComponent("empty.db").path
        _ = try ImageIndex(path: empty)
        let none = try zeroshot(["classify", "--db", empty, "--labels", "a,b"])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("\(empty): the index is empty"), none.stderr)
        let usage = try zeroshot(["classify", "--db", db, "--labels", "a,b", photo("rocket.jpg").path])
        XCTAssertEqual(usage.status, 64)
        // Options about reading images have nothing to act on with --db: usage errors, not silently ignored.
        let exclude = try zeroshot(["classify", "--db", db, "--labels", "a,b", "--exclude", "*.png"])
        XCTAssertEqual(exclude.status, 64, exclude.stderr)
        XCTAssertTrue(exclude.stderr.contains("error: --exclude applies to walked folders"), exclude.stderr)
        XCTAssertEqual(exclude.stdout, "")
        let download = try zeroshot(["classify", "--db", db, "--labels", "a,b", "--max-download-bytes", "10"])
        XCTAssertEqual(download.status, 64, download.stderr)
        XCTAssertTrue(download.stderr.contains("error: --max-download-bytes applies to URLs"), download.stderr)
    }
}
