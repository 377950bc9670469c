import Foundation
import Glibc
import GRDB
@testable import ImageIndex
import XCTest

/// Inputs a careless or hostile user gives the index commands: each ends in an error naming the input and the
/// reason, never in a hang, a wrong message or a damaged index.
final class HostileInputTests: XCTestCase {
    var model: String { fixtureModel().path }

    /// A merge source that is the --db file through a symbolic or a hard link is refused at once by name (it used to
    /// wait 10 s on the file's own lock and fail with "database is locked"); the library refuses it too.
    func testMergeOfTheIndexItselfThroughALinkIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, photo("rocket.jpg").path]).status, 0)
        let alias = dir.appendingPathComponent("alias.db").path, hardlink = dir.appendingPathComponent("hard.db").path
        XCTAssertEqual(symlink(db, alias), 0)
        XCTAssertEqual(link(db, hardlink), 0)
        for source in [alias, hardlink] {
            let start = Date()
            let r = try zeroshot(["merge", "--db", db, source])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("error: \(source) is the --db index itself"), r.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
            XCTAssertThrowsError(try ImageIndex(path: db).merge(from: source)) { error in
                XCTAssertEqual(error as? ImageIndexError, .mergeIntoItself(path: db, source: source))
                XCTAssertEqual("\(error)", "cannot merge \(source) into \(db): it is the same file; give the other indexes")
            }
        }
        let index = try ImageIndex(path: db)
        XCTAssertEqual(try index.count(), 1)
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }

    /// --db naming a directory says so (it used to say "not an SQLite database"); a FIFO or a device too.
    func testDatabasePathThatIsADirectory() throws {
        let dir = try temporaryDirectory(self)
        let folder = dir.appendingPathComponent("photos.db").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for arguments in [["index", "--db", folder, "--model", model, photo("rocket.jpg").path], ["search", "--db", folder, "cat"]] {
            let r = try zeroshot(arguments)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("\(folder): a directory, not an index file"), "\(arguments[0]): \(r.stderr)")
        }
        XCTAssertThrowsError(try ImageIndex(path: folder)) { XCTAssertEqual($0 as? ImageIndexError, .isDirectory(path: folder)) }
        // A path in a folder that does not exist (SQLite said "unable to open database file").
        let lost = dir.appendingPathComponent("nowhere/photos.db").path
        let r = try zeroshot(["index", "--db", lost, "--model", model, photo("rocket.jpg").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(lost): cannot create the index: the folder \(dir.appendingPathComponent("nowhere").path) does not exist"), r.stderr)
        // A FIFO, /dev/null, /dev/zero: named as what they are (they used to give "disk I/O error" or "no such
        // index"), and nothing waits on the FIFO.
        let fifo = dir.appendingPathComponent("photos.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for path in [fifo, "/dev/null", "/dev/zero"] {
            for arguments in [["index", "--db", path, "--model", model, photo("rocket.jpg").path], ["search", "--db", path, "cat"]] {
                let r = try zeroshot(arguments)
                XCTAssertEqual(r.status, 1, r.stderr)
                XCTAssertTrue(r.stderr.contains("\(path): not a regular file (a FIFO, socket or device), so not an index"),
                              "\(arguments[0]): \(r.stderr)")
            }
        }
    }

    /// An empty or blank search text (or --not text) is a usage error, not a query of nothing.
    func testEmptySearchTextIsAUsageError() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, photo("rocket.jpg").path]).status, 0)
        for arguments in [["search", "--db", db, ""], ["search", "--db", db, "cat", "--not", "  "]] {
            let r = try zeroshot(arguments)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("is empty; give words to search for"), r.stderr)
        }
    }

    /// A row whose embedding BLOB has the wrong length (written by another tool) is an error naming that image;
    /// search and classify --db still give the other images (it used to fail the whole command), exit 1.
    func testCorruptEmbeddingRowDoesNotLoseTheOthers() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        let rocket = photo("rocket.jpg").path, chelsea = photo("chelsea.jpg").path, coffee = photo("coffee.webp").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, rocket, chelsea, coffee]).status, 0)
        let queue = try DatabaseQueue(path: db)
        try queue.write { try $0.execute(sql: "UPDATE images SET embedding = x'00010203' WHERE path = ?", arguments: [rocket]) }
        try queue.close()
        let message = "error: \(db): the stored embedding of \(rocket) has 4 bytes, not 16 float32 values"
        let search = try zeroshot(["search", "--db", db, "--format", "jsonl", "a cat"])
        XCTAssertEqual(search.status, 1, search.stderr)
        XCTAssertTrue(search.stderr.contains(message), search.stderr)
        XCTAssertEqual(Set(search.stdout.split(separator: "\n").map { String($0.split(separator: "\"")[3]) }), [chelsea, coffee])
        let relabel = try zeroshot(["classify", "--db", db, "--labels", "cat,dog", "--format", "jsonl"])
        XCTAssertEqual(relabel.status, 1, relabel.stderr)
        XCTAssertTrue(relabel.stderr.contains(message), relabel.stderr)
        XCTAssertEqual(relabel.stdout.split(separator: "\n").count, 2, relabel.stdout)
        XCTAssertFalse(relabel.stdout.contains(rocket))
        // The library without a handler still throws.
        XCTAssertThrowsError(try ImageIndex(path: db).embeddingMatrix()) { error in
            XCTAssertEqual(error as? ImageIndexError, .corruptEmbedding(path: db, image: rocket, bytes: 4, dimension: 16))
        }
        // merge copies the other rows and names the corrupt one (it used to copy it silently).
        let out = dir.appendingPathComponent("out.db").path
        let merge = try zeroshot(["merge", "--db", out, db])
        XCTAssertEqual(merge.status, 1, merge.stderr)
        XCTAssertTrue(merge.stderr.contains(message), merge.stderr)
        XCTAssertEqual(merge.stdout, "\(db): added 2, replaced 0, left out 1 with a corrupt embedding\n\(out): 2 images\n")
        XCTAssertEqual(try ImageIndex(path: out).records().map(\.path), [chelsea, coffee].sorted())
        XCTAssertEqual(try ImageIndex(path: out).integrityCheck(), "ok")
        var reported: [String] = []
        let matrix = try ImageIndex(path: db).embeddingMatrix(corrupt: { reported.append("\($0)") })
        XCTAssertEqual(matrix.paths, [chelsea, coffee].sorted())
        XCTAssertEqual(reported.count, 1)
    }

    /// Frame times in a damaged index can be any number: one over 9e15 s overflowed while its row was named in an
    /// error or a search result and stopped the process (found by the sqlite-index fuzzer). It is written in full.
    func testHugeFrameTimesAreWrittenInFull() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        let rocket = photo("rocket.jpg").path, chelsea = photo("chelsea.jpg").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, rocket, chelsea]).status, 0)
        let queue = try DatabaseQueue(path: db)
        try queue.write {
            try $0.execute(sql: "UPDATE images SET time = 1e300, embedding = x'00010203' WHERE path = ?", arguments: [rocket])
            try $0.execute(sql: "UPDATE images SET time = -1e20 WHERE path = ?", arguments: [chelsea])
        }
        try queue.close()
        var reported: [String] = []
        let matrix = try ImageIndex(path: db).embeddingMatrix(corrupt: { reported.append("\($0)") })
        XCTAssertEqual(matrix.paths, [chelsea])
        XCTAssertEqual(reported.count, 1)
        XCTAssertTrue(reported.first?.contains("\(rocket) at \(String(format: "%.0f", 1e300)).000 s") == true, "\(reported)")
        let search = try zeroshot(["search", "--db", db, "--format", "jsonl", "a cat"])
        XCTAssertEqual(search.status, 1, search.stderr)
        XCTAssertTrue(search.stdout.contains("-100000000000000000000.000"), search.stdout)
    }

    /// A --files-from line that is not UTF-8 is an error naming the list and the line; the other lines are
    /// classified and indexed (the whole list used to be refused).
    func testFilesFromLineThatIsNotUTF8DoesNotLoseTheOthers() throws {
        let dir = try temporaryDirectory(self)
        let rocket = photo("rocket.jpg").path, chelsea = photo("chelsea.jpg").path
        let list = dir.appendingPathComponent("list.txt")
        try (Data("\(rocket)\n".utf8) + Data([0x6C, 0x61, 0x74, 0xE9, 0x2E, 0x6A, 0x70, 0x67, 0x0A]) + Data("\(chelsea)\n".utf8)).write(to: list)
        let message = "error: --files-from \(list.path) line 2: a name that is not valid UTF-8 (lat\u{FFFD}.jpg); left out"
        let classify = try zeroshot(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "--files-from", list.path])
        XCTAssertEqual(classify.status, 1, classify.stderr)
        XCTAssertTrue(classify.stderr.contains(message), classify.stderr)
        XCTAssertEqual(classify.stdout.split(separator: "\n").count, 2, classify.stdout)
        let db = dir.appendingPathComponent("a.db").path
        let index = try zeroshot(["index", "--db", db, "--model", model, "--format", "json", "--files-from", list.path])
        XCTAssertEqual(index.status, 1, index.stderr)
        XCTAssertTrue(index.stderr.contains(message), index.stderr)
        XCTAssertEqual(index.stdout, "{\"added\": 2, \"updated\": 0, \"unchanged\": 0, \"removed\": 0, \"failed\": 1, \"skipped\": 0}\n")
    }

    /// An index whose meta embedding_dim was changed by another tool gets no rows of another size (it used to take
    /// them, and then no search could read them): the run stops naming both sizes, the index stays sound.
    func testIndexWhoseEmbeddingDimWasEditedTakesNoRowsOfAnotherSize() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", model, photo("rocket.jpg").path]).status, 0)
        let queue = try DatabaseQueue(path: db)
        try queue.write { try $0.execute(sql: "UPDATE meta SET value = '7' WHERE key = 'embedding_dim'") }
        try queue.close()
        let r = try zeroshot(["index", "--db", db, photo("chelsea.jpg").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(db): the index records embedding_dim 7 but its model gives 16 values"), r.stderr)
        let index = try ImageIndex(path: db)
        XCTAssertEqual(try index.records().map(\.path), [photo("rocket.jpg").path])
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }

    /// A hand-made index with the meta and rows of `dimension`: `rows` rows of `bytes`-byte embeddings.
    func handMadeIndex(_ db: String, dimension: String, rows: Int, bytes: Int) throws {
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(sql: IndexSchemaTests.schema1)
            for (key, value) in [("model_id", "m"), ("model_fingerprint", "f"), ("embedding_dim", dimension)] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            }
            for i in 0..<rows {
                try db.execute(sql: """
                    INSERT INTO images (path, size, sha256, width, height, embedding, indexed_at)
                    VALUES (?, 1, 'x', 1, 1, zeroblob(?), 0)
                    """, arguments: ["/p/\(i).png", bytes])
            }
        }
        try queue.close()
    }

    /// An embedding_dim that is not a dimension (negative, zero, or one whose byte size overflows) is an error
    /// naming the index and the value, from every reader (it used to trap in the matrix allocation).
    func testEmbeddingDimOutOfRangeIsAnError() throws {
        let dir = try temporaryDirectory(self)
        for (i, value) in ["-16", "0", "65537", "4611686018427387904"].enumerated() {
            let db = dir.appendingPathComponent("\(i).db").path
            try handMadeIndex(db, dimension: value, rows: 2, bytes: 64)
            let index = try ImageIndex(path: db, create: false, readOnly: true)
            let expected = ImageIndexError.database(path: db, reason: "the index records embedding_dim \(value), not 1 to "
                                                    + "65536 values; the index is damaged (rebuild it into a new --db)")
            XCTAssertThrowsError(try index.model()) { XCTAssertEqual($0 as? ImageIndexError, expected) }
            XCTAssertThrowsError(try index.embeddingMatrix(corrupt: { _ in })) { XCTAssertEqual($0 as? ImageIndexError, expected) }
        }
    }

    /// Many rows whose embeddings are too short for a large embedding_dim do not make a matrix of rows x dim values:
    /// the matrix is bounded by what the file can hold, and the short rows are reported and left out.
    func testShortRowsOfALargeDimensionAreNotAllocatedFor() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        try handMadeIndex(db, dimension: "65536", rows: 5000, bytes: 0)
        var corrupt = 0
        let matrix = try ImageIndex(path: db, create: false, readOnly: true).embeddingMatrix(corrupt: { _ in corrupt += 1 })
        XCTAssertEqual(matrix.count, 0)
        XCTAssertEqual(corrupt, 5000)
    }

    /// An empty input argument (an unset "$DIR") is a usage error naming the problem; it used to be reported as
    /// ": cannot read the file".
    func testEmptyInputArgumentIsAUsageError() throws {
        let dir = try temporaryDirectory(self)
        let db = dir.appendingPathComponent("a.db").path
        for arguments in [["index", "--db", db, "--model", model, ""], ["classify", "--model", model, "--labels", "a,b", photo("rocket.jpg").path, ""],
                          ["embed", "--model", model, "--image", ""]] {
            let r = try zeroshot(arguments)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("an input argument is an empty string"), "\(arguments[0]): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: db))
    }

    /// Two processes creating the same new index at once both succeed (the second used to fail with "table meta
    /// already exists" when both saw an empty file before either created the schema).
    func testConcurrentCreationOfOneIndex() throws {
        let dir = try temporaryDirectory(self)
        for round in 0..<50 {
            let path = dir.appendingPathComponent("race-\(round).db").path
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                do { _ = try ImageIndex(path: path) } catch { failures.add("\(error)") }
            }
            XCTAssertEqual(failures.all, [], "round \(round)")
            XCTAssertEqual(try ImageIndex(path: path).integrityCheck(), "ok")
        }
        // The same through the command line: two index runs started together on a new file.
        let db = dir.appendingPathComponent("cli.db").path
        let runs = try (0..<2).map { _ in try startZeroshot(["index", "--db", db, "--model", model, "--format", "json", photo("rocket.jpg").path, photo("chelsea.jpg").path]) }
        for (process, _, err) in runs {
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, stderr)
        }
        let index = try ImageIndex(path: db)
        XCTAssertEqual(try index.count(), 2)
        XCTAssertEqual(try index.integrityCheck(), "ok")
    }
}

private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
