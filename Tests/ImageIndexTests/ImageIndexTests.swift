import Foundation
import GRDB
import ImageIndex
import Inputs
import XCTest
import ZeroShot

final class ImageIndexUpdateTests: XCTestCase {
    func index(_ library: URL, _ db: URL, options: ImageIndex.UpdateOptions = .init(), arguments: [String]? = nil,
               failures: UnsafeMutablePointer<[String]>? = nil) throws -> ImageIndex.UpdateSummary {
        let index = try ImageIndex(path: db.path)
        return try index.update(arguments ?? [library.path], classifier: tinyClassifier(), options: options) { event in
            if case .failed(let input, _) = event { failures?.pointee.append(input) }
        }
    }

    func testFirstRunStoresEveryImageWithItsFacts() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("index.db")
        let summary = try index(library, db)
        XCTAssertEqual(summary.added, 8)
        XCTAssertEqual(summary.skipped, 1, "notes.txt")
        XCTAssertEqual([summary.updated, summary.unchanged, summary.removed, summary.failed], [0, 0, 0, 0])

        let index = try ImageIndex(path: db.path)
        let records = try index.records()
        XCTAssertEqual(records.map(\.path), records.map(\.path).sorted())
        let astronaut = try XCTUnwrap(records.first { $0.path.hasSuffix("2024/city/astronaut.jpg") })
        XCTAssertEqual(astronaut.path, library.appendingPathComponent("2024/city/astronaut.jpg").path)
        // EXIF orientation 6: the stored size is the upright image's (as transformers' load_image gives it).
        let decoded = try ImageDecoder.decode(contentsOf: photo("astronaut_exif6.jpg"))
        XCTAssertEqual([astronaut.width, astronaut.height], [decoded.width, decoded.height])
        let bytes = try Data(contentsOf: photo("astronaut_exif6.jpg"))
        XCTAssertEqual(astronaut.sha256, SHA256.hex(bytes))
        XCTAssertEqual(astronaut.size, bytes.count)
        let attributes = try FileManager.default.attributesOfItem(atPath: astronaut.path)
        XCTAssertEqual(astronaut.mtime!, (attributes[.modificationDate] as! Date).timeIntervalSince1970, accuracy: 1e-5)
        // The stored embedding is the facade's, bit for bit (batch 1), and L2-normalised.
        let expected = try tinyClassifier().imageEmbeddings([.file(photo("astronaut_exif6.jpg"))])[0].get()
        XCTAssertEqual(astronaut.embedding.map(\.bitPattern), expected.map(\.bitPattern))
        XCTAssertEqual(astronaut.embedding.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        XCTAssertFalse(records.contains { $0.path.contains(".hidden") })

        let model = try XCTUnwrap(try index.model())
        XCTAssertEqual(model.identity, try tinyClassifier().identity)
        XCTAssertEqual(model.modelType, "clip")
        XCTAssertEqual(model.embeddingDimension, expected.count)
        XCTAssertEqual(try index.integrityCheck(), "ok")
        try DatabaseQueue(path: db.path).read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA application_id"), Int(ImageIndex.applicationID))
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA user_version"), ImageIndex.schemaVersion)
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
        }
    }

    func testIncrementalRerunUnchangedChangedRemovedAndKeepMissing() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("index.db")
        XCTAssertEqual(try index(library, db).added, 8)
        let before = Dictionary(uniqueKeysWithValues: try ImageIndex(path: db.path).records().map { ($0.path, $0) })

        var again = try index(library, db)
        XCTAssertEqual(again.unchanged, 8)
        XCTAssertEqual([again.added, again.updated, again.removed, again.failed], [0, 0, 0, 0])

        // Changed content: re-embedded. Same content with a new mtime: only size/mtime refreshed.
        let rocket = library.appendingPathComponent("2023/rocket.jpg")
        try FileManager.default.removeItem(at: rocket)
        try FileManager.default.copyItem(at: photo("imagenet_00_243.jpg"), to: rocket)
        let cat = library.appendingPathComponent("2023/beach/cat.jpg")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000.25)], ofItemAtPath: cat.path)
        // A new file and a removed one.
        try FileManager.default.copyItem(at: photo("camera_gray.jpg"), to: library.appendingPathComponent("2024/new.jpg"))
        try FileManager.default.removeItem(at: library.appendingPathComponent("2024/coffee.webp"))

        again = try index(library, db)
        XCTAssertEqual(again.added, 1)
        XCTAssertEqual(again.updated, 2)
        XCTAssertEqual(again.unchanged, 5)
        XCTAssertEqual(again.removed, 1)
        let after = Dictionary(uniqueKeysWithValues: try ImageIndex(path: db.path).records().map { ($0.path, $0) })
        XCTAssertNil(after[library.appendingPathComponent("2024/coffee.webp").path])
        let dogEmbedding = before[library.appendingPathComponent("2024/dog.jpg").path]!.embedding
        XCTAssertEqual(after[rocket.path]?.embedding, dogEmbedding, "the replaced file has the new content's embedding")
        XCTAssertEqual(after[rocket.path]?.sha256, before[library.appendingPathComponent("2024/dog.jpg").path]!.sha256)
        XCTAssertEqual(after[cat.path]?.embedding, before[cat.path]?.embedding)
        XCTAssertEqual(after[cat.path]?.mtime, 1_600_000_000.25)

        // --keep-missing keeps rows of files that are gone.
        try FileManager.default.removeItem(at: library.appendingPathComponent("2024/dog.jpg"))
        again = try index(library, db, options: .init(keepMissing: true))
        XCTAssertEqual(again.removed, 0)
        XCTAssertEqual(again.unchanged, 7)
        XCTAssertNotNil(try ImageIndex(path: db.path).records().first { $0.path.hasSuffix("2024/dog.jpg") })
        again = try index(library, db)
        XCTAssertEqual(again.removed, 1)
        XCTAssertEqual(try ImageIndex(path: db.path).integrityCheck(), "ok")
    }

    func testRemovalOnlyUnderThisRunsArgumentsAndShard() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("index.db")
        let y2023 = library.appendingPathComponent("2023"), y2024 = library.appendingPathComponent("2024")
        XCTAssertEqual(try index(library, db, arguments: [y2023.path, y2024.path]).added, 6)
        // Files gone from 2024, but this run names only 2023: the 2024 rows stay.
        try FileManager.default.removeItem(at: y2024.appendingPathComponent("city"))
        var summary = try index(library, db, arguments: [y2023.path])
        XCTAssertEqual(summary.removed, 0)
        XCTAssertEqual(try ImageIndex(path: db.path).count(), 6)

        // Within a shard, only that shard's rows go.
        let shard = try Shard(parsing: "0/2")
        let gone = ["city/astronaut.jpg", "city/camera.png"]
        let inShard = gone.filter { shard.contains(key: $0) }.count
        summary = try index(library, db, options: .init(shard: shard), arguments: [y2024.path])
        XCTAssertEqual(summary.removed, inShard)
        summary = try index(library, db, options: .init(shard: try Shard(parsing: "1/2")), arguments: [y2024.path])
        XCTAssertEqual(summary.removed, gone.count - inShard)
        XCTAssertEqual(try ImageIndex(path: db.path).count(), 4)

        // A file that --exclude leaves out is not seen by the run: "rocket*" drops 2023/rocket.jpg's row; a run
        // without it adds the row back.
        let excluded = try index(library, db, options: .init(exclude: ["rocket*"]), arguments: [y2023.path])
        XCTAssertEqual([excluded.unchanged, excluded.removed], [1, 1])
        _ = try index(library, db, arguments: [y2023.path])

        // Overlapping arguments: each file once.
        let overlap = try index(library, db, arguments: [y2023.path, y2023.appendingPathComponent("beach").path,
                                                           y2023.appendingPathComponent("rocket.jpg").path])
        XCTAssertEqual([overlap.added, overlap.updated, overlap.unchanged], [0, 0, 2])

        // A file argument that is gone: its row goes (and only it).
        let rocket = y2023.appendingPathComponent("rocket.jpg")
        try FileManager.default.removeItem(at: rocket)
        var failures: [String] = []
        summary = try index(library, db, arguments: [rocket.path], failures: &failures)
        XCTAssertEqual(summary.removed, 1)
        XCTAssertEqual(failures, [rocket.path], "the missing argument is reported")
        XCTAssertEqual(try ImageIndex(path: db.path).count(), 3)
    }

    func testCorruptAndTruncatedImagesFailAloneAndNameTheFile() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let bad = ["corrupt.png", "truncated.jpg", "truncated.png", "truncated_header.jpg", "empty.jpg", "truncated.webp"]
        for name in bad {
            try FileManager.default.copyItem(at: decodingFixture(name), to: library.appendingPathComponent("2024/bad-" + name))
        }
        let db = dir.appendingPathComponent("index.db")
        var failed: [(String, String)] = []
        let index = try ImageIndex(path: db.path)
        let summary = try index.update([library.path], classifier: tinyClassifier()) { event in
            if case .failed(let input, let error) = event { failed.append((input, "\(error)")) }
        }
        // empty.jpg holds no bytes: no image content, so the walk skips it with the non-images.
        let reported = failed.map { ($0.0 as NSString).lastPathComponent }
        XCTAssertEqual(Set(reported), Set(bad.filter { $0 != "empty.jpg" }.map { "bad-" + $0 }), "\(failed)")
        XCTAssertEqual(summary.failed, reported.count)
        XCTAssertEqual(summary.added, 8, "the other images are indexed")
        for (input, message) in failed { XCTAssertFalse(message.isEmpty, input) }
        XCTAssertEqual(try index.integrityCheck(), "ok")
        XCTAssertFalse(try index.records().contains { $0.path.contains("bad-") })
    }

    func testFailedFileKeepsItsOldRow() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("index.db")
        _ = try index(library, db)
        let rocket = library.appendingPathComponent("2023/rocket.jpg")
        let old = try XCTUnwrap(try ImageIndex(path: db.path).records().first { $0.path == rocket.path })
        // Overwritten by a truncated JPEG: reported, the old row stays, nothing is removed.
        try FileManager.default.removeItem(at: rocket)
        try FileManager.default.copyItem(at: decodingFixture("truncated.jpg"), to: rocket)
        var failures: [String] = []
        let summary = try index(library, db, failures: &failures)
        XCTAssertEqual(failures, [rocket.path])
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(summary.removed, 0)
        XCTAssertEqual(try ImageIndex(path: db.path).records().first { $0.path == rocket.path }, old)
    }

    /// A file written to while it is read (/proc/self/status: fstat says 0 bytes, read gives more) is an error
    /// naming it; the other images are indexed and no row is made of a mix of two versions.
    func testFileChangedWhileReadIsReportedAndOthersIndexed() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("index.db")
        var failures: [(String, String)] = []
        let index = try ImageIndex(path: db.path)
        let summary = try index.update(["/proc/self/status", photo("rocket.jpg").path], classifier: tinyClassifier()) { event in
            if case .failed(let input, let error) = event { failures.append((input, "\(error)")) }
        }
        XCTAssertEqual(failures.map(\.0), ["/proc/self/status"])
        XCTAssertTrue(failures.first?.1.contains("changed while being read") ?? false, "\(failures)")
        XCTAssertEqual(summary.added, 1)
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(try index.records().map(\.path), [photo("rocket.jpg").standardizedFileURL.path])
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }

    func testIndexOfAnotherModelIsRefusedNamingBoth() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("index.db")
        _ = try ImageIndex(path: db.path).update([photo("rocket.jpg").path], classifier: tinyClassifier())
        XCTAssertThrowsError(try ImageIndex(path: db.path).update([photo("chelsea.jpg").path], classifier: tinyClassifier("tiny-bf16"))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(fixtureModel("tiny-f16").path), message)
            XCTAssertTrue(message.contains(fixtureModel("tiny-bf16").path), message)
            XCTAssertTrue(message.contains(db.path), message)
        }
        XCTAssertEqual(try ImageIndex(path: db.path).count(), 1)
    }

    func testURLInputsAreStoredByURLAndHTMLFails() throws {
        let jpeg = try Data(contentsOf: photo("chelsea.jpg"))
        let server = try LoopbackServerForIndex.start(jpeg: jpeg)
        defer { server.stop() }
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("index.db")
        let good = server.baseURL.appendingPathComponent("cat.jpg").absoluteString
        let html = server.baseURL.appendingPathComponent("page.html").absoluteString
        var failures: [(String, String)] = []
        let summary = try ImageIndex(path: db.path).update([good, html], classifier: tinyClassifier()) { event in
            if case .failed(let input, let error) = event { failures.append((input, "\(error)")) }
        }
        XCTAssertEqual(summary.added, 1)
        XCTAssertEqual(summary.failed, 1)
        XCTAssertEqual(failures.map(\.0), [html])
        let record = try XCTUnwrap(try ImageIndex(path: db.path).records().first)
        XCTAssertEqual(record.path, good)
        XCTAssertNil(record.mtime)
        XCTAssertEqual(record.sha256, SHA256.hex(jpeg))
        // Again: the URL is fetched and, serving the same bytes, unchanged; the HTML page fails again.
        let again = try ImageIndex(path: db.path).update([good, html], classifier: tinyClassifier())
        XCTAssertEqual([again.added, again.updated, again.unchanged, again.failed, again.removed], [0, 0, 1, 1, 0])
        // Not named any more: its row goes.
        let dropped = try ImageIndex(path: db.path).update([good], classifier: tinyClassifier())
        XCTAssertEqual(dropped.unchanged, 1)
        let other = server.baseURL.appendingPathComponent("other.jpg").absoluteString
        let replaced = try ImageIndex(path: db.path).update([other], classifier: tinyClassifier())
        XCTAssertEqual([replaced.added, replaced.removed], [1, 0], "a run that does not name a URL leaves its row")
    }
}

final class ImageIndexFaultTests: XCTestCase {
    func testForeignAndNewerDatabasesAreRejectedAndLeftUntouched() throws {
        let dir = try temporaryDirectory(self)
        // Another program's SQLite database: tables of its own, application_id 0.
        let other = dir.appendingPathComponent("other.db").path
        try DatabaseQueue(path: other).write { db in try db.execute(sql: "CREATE TABLE photos (name TEXT)") }
        XCTAssertThrowsError(try ImageIndex(path: other)) { error in
            guard case ImageIndexError.otherProgram(other, 0, ["photos"]) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains(other))
        }
        try DatabaseQueue(path: other).read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master"), ["photos"])
        }
        // Another program's application_id, even without tables.
        let tagged = dir.appendingPathComponent("tagged.db").path
        try DatabaseQueue(path: tagged).writeWithoutTransaction { db in try db.execute(sql: "PRAGMA application_id = 1234") }
        XCTAssertThrowsError(try ImageIndex(path: tagged)) { error in
            XCTAssertEqual(error as? ImageIndexError, .otherProgram(path: tagged, applicationID: 1234, tables: []))
        }
        // A newer schema of ours.
        let newer = dir.appendingPathComponent("newer.db").path
        _ = try ImageIndex(path: newer)
        try DatabaseQueue(path: newer).writeWithoutTransaction { db in try db.execute(sql: "PRAGMA user_version = 7") }
        XCTAssertThrowsError(try ImageIndex(path: newer)) { error in
            XCTAssertEqual(error as? ImageIndexError, .newerSchema(path: newer, version: 7, supported: ImageIndex.schemaVersion))
            XCTAssertTrue("\(error)".contains("newer zeroshot"), "\(error)")
        }
        // Not SQLite at all: a JPEG, a text file.
        let garbage = dir.appendingPathComponent("garbage.db").path
        try Data("this is not a database, just text that is long enough to look like a header".utf8)
            .write(to: URL(fileURLWithPath: garbage))
        let jpeg = photo("rocket.jpg").path
        for path in [garbage, jpeg] {
            XCTAssertThrowsError(try ImageIndex(path: path)) { error in
                XCTAssertEqual(error as? ImageIndexError, .notSQLite(path: path))
            }
        }
        XCTAssertEqual(try Data(contentsOf: photo("rocket.jpg")).count, try FileManager.default.attributesOfItem(atPath: jpeg)[.size] as? Int)
        // A missing index for a query.
        let missing = dir.appendingPathComponent("missing.db").path
        XCTAssertThrowsError(try ImageIndex(path: missing, create: false)) { error in
            XCTAssertEqual(error as? ImageIndexError, .notFound(path: missing))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    /// 40 copies of real photos under distinct names.
    func manyPhotos(_ root: URL, count: Int = 40) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let sources = ["chelsea.jpg", "rocket.jpg", "coffee.webp", "camera_gray.png", "imagenet_00_243.jpg"]
        for i in 0..<count {
            try FileManager.default.copyItem(at: photo(sources[i % sources.count]),
                                             to: root.appendingPathComponent(String(format: "img-%03d-", i) + sources[i % sources.count]))
        }
    }

    func testDatabaseFullStopsWithAnErrorNamingTheFileAndKeepsCommittedBatches() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try manyPhotos(library, count: 120)
        let db = dir.appendingPathComponent("index.db").path
        let pages = try DatabaseQueue(path: try { _ = try ImageIndex(path: db); return db }()).read { db in
            try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        }
        let capped = try ImageIndex(path: db, maxPageCount: pages + 1)
        XCTAssertThrowsError(try capped.update([library.path], classifier: tinyClassifier())) { error in
            guard case ImageIndexError.diskFull(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, db)
            XCTAssertTrue("\(error)".contains(db), "\(error)")
        }
        let index = try ImageIndex(path: db)
        XCTAssertEqual(try index.integrityCheck(), "ok")
        let kept = try index.count()
        XCTAssertGreaterThan(kept, 0, "batches committed before the full disk are kept")
        XCTAssertLessThan(kept, 120)
        // With room again the run resumes: the kept rows are unchanged, the rest added.
        let summary = try index.update([library.path], classifier: tinyClassifier())
        XCTAssertEqual(summary.unchanged, kept)
        XCTAssertEqual(summary.added, 120 - kept)
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }

    func testFullFileSystemIsReportedAsDiskFull() throws {
        guard geteuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root") }
        let dir = try temporaryDirectory(self)
        let mount = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        let status = try Process.run(URL(fileURLWithPath: "/bin/mount"), arguments: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.path])
        status.waitUntilExit()
        guard status.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here") }
        defer {
            let umount = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: [mount.path])
            umount?.waitUntilExit()
        }
        let library = dir.appendingPathComponent("photos")
        try manyPhotos(library, count: 400)
        let db = mount.appendingPathComponent("index.db").path
        XCTAssertThrowsError(try ImageIndex(path: db).update([library.path], classifier: tinyClassifier())) { error in
            guard case ImageIndexError.diskFull(db, _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try ImageIndex(path: db).integrityCheck(), "ok")
        XCTAssertGreaterThan(try ImageIndex(path: db).count(), 0)
    }
}

final class ImageIndexSearchTests: XCTestCase {
    func testSearchIsTheCosineRankingOfEveryRow() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let index = try ImageIndex(path: dir.appendingPathComponent("index.db").path)
        _ = try index.update([library.path], classifier: tinyClassifier())
        let query = try tinyClassifier().textEmbeddings(["a photo of a cat"])[0]
        let hits = try index.search(query: query, topK: 5)
        let records = try index.records()
        let expected = records.map { r in (r.path, zip(r.embedding, query).reduce(Float(0)) { $0 + $1.0 * $1.1 }) }
            .enumerated().sorted { a, b in a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset }
            .prefix(5)
        XCTAssertEqual(hits.map(\.path), expected.map(\.element.0))
        for (hit, e) in zip(hits, expected) { XCTAssertEqual(hit.score, e.element.1, accuracy: 1e-5) }
        XCTAssertEqual(try index.search(query: query, topK: 100).count, records.count)
    }

    func testTopKIsTheSortedPrefixWithTiesInPathOrderAndNaNLast() {
        let scores: [Float] = [0.5, .nan, 0.9, 0.5, -1, 0.9, 0.1]
        let matrix = EmbeddingMatrix(paths: (0..<7).map { "p\($0)" }, dimension: 1, values: scores)
        XCTAssertEqual(try matrix.search([1], topK: 3).map(\.path), ["p2", "p5", "p0"])
        XCTAssertEqual(try matrix.search([1], topK: 7).map(\.path), ["p2", "p5", "p0", "p3", "p6", "p4", "p1"])
        // Against a full sort on random scores.
        var generator = SystemRandomNumberGenerator()
        let n = 5000, d = 8
        let values = (0..<(n * d)).map { _ in Float.random(in: -1...1, using: &generator) }
        let big = EmbeddingMatrix(paths: (0..<n).map { String(format: "%05d", $0) }, dimension: d, values: values)
        let query = (0..<d).map { _ in Float.random(in: -1...1, using: &generator) }
        let scoresBig = try! big.scores(query)
        let sorted = scoresBig.indices.sorted { scoresBig[$0] != scoresBig[$1] ? scoresBig[$0] > scoresBig[$1] : $0 < $1 }
        XCTAssertEqual(try big.search(query, topK: 37).map(\.path), sorted.prefix(37).map { big.paths[$0] })
    }

    func testCombinedQueryAddsSubtractsAndNormalises() throws {
        let q = try XCTUnwrap(ImageIndex.combinedQuery(positive: [[1, 0], [0, 1]], negative: [[0, 2]]))
        XCTAssertEqual(q[0], 1 / Float(2).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(q[1], -1 / Float(2).squareRoot(), accuracy: 1e-6)
        XCTAssertNil(ImageIndex.combinedQuery(positive: [[1, 0]], negative: [[1, 0]]))
    }

    func testRelabelStreamsStoredEmbeddingsInPathOrder() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let index = try ImageIndex(path: dir.appendingPathComponent("index.db").path)
        _ = try index.update([library.path], classifier: tinyClassifier())
        var paths: [String] = [], embeddings: [[Float]] = [], chunks = 0
        try index.forEachEmbedding(chunk: 3) { p, e in
            XCTAssertLessThanOrEqual(p.count, 3)
            paths += p
            embeddings += e
            chunks += 1
        }
        XCTAssertEqual(chunks, 3)
        let records = try index.records()
        XCTAssertEqual(paths, records.map(\.path))
        XCTAssertEqual(embeddings, records.map(\.embedding))
    }
}

final class ImageIndexMergeTests: XCTestCase {
    func testMergeOfShardsEqualsOneIndexAndOtherModelsAreRefused() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let whole = try ImageIndex(path: dir.appendingPathComponent("whole.db").path)
        _ = try whole.update([library.path], classifier: tinyClassifier())
        let merged = try ImageIndex(path: dir.appendingPathComponent("merged.db").path)
        var added = 0
        for k in 0..<3 {
            let path = dir.appendingPathComponent("shard-\(k).db").path
            _ = try ImageIndex(path: path).update([library.path], classifier: tinyClassifier(),
                                                  options: .init(shard: try Shard(k: k, n: 3)))
            added += try merged.merge(from: path).added
        }
        XCTAssertEqual(added, 8)
        XCTAssertEqual(try merged.records(), try whole.records())
        XCTAssertEqual(try merged.model(), try whole.model())
        // Merging again replaces rows with the same bytes.
        let again = try merged.merge(from: dir.appendingPathComponent("shard-0.db").path)
        XCTAssertEqual(again.added, 0)
        XCTAssertEqual(try merged.records(), try whole.records())

        let other = dir.appendingPathComponent("other.db").path
        _ = try ImageIndex(path: other).update([photo("rocket.jpg").path], classifier: tinyClassifier("tiny-bf16"))
        XCTAssertThrowsError(try merged.merge(from: other)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(fixtureModel("tiny-f16").path), message)
            XCTAssertTrue(message.contains(fixtureModel("tiny-bf16").path), message)
            XCTAssertTrue(message.contains(other), message)
        }
        XCTAssertEqual(try merged.count(), 8)
    }
}
