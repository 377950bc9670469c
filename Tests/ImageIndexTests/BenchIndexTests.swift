import Foundation
import ImageIndex
import XCTest

/// `zeroshot bench --db`: the index's timings with its JSON keys, and the errors of an index it cannot time.
final class BenchIndexTests: XCTestCase {
    func testBenchOfAnIndexReportsItsKeys() throws {
        let dir = try temporaryDirectory(self)
        try makeLibrary(at: dir.appendingPathComponent("photos"))
        let db = dir.appendingPathComponent("photos.db").path
        let indexed = try zeroshot(["index", "--db", db, "--model", fixtureModel().path, "--quiet", "photos"], in: dir)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)

        let r = try zeroshot(["bench", "--db", db, "--iterations", "2", "--queries", "3", "--labels", "cat,dog,rocket",
                              "--format", "json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        for key in ["index_open_ms", "search_ms", "relabel_ms", "relabel_text_ms", "peak_rss_mb"] {
            let value = try XCTUnwrap(json[key] as? Double, key)
            XCTAssertGreaterThan(value, 0, key)
        }
        let index = try ImageIndex(path: db, create: false)
        XCTAssertEqual(json["rows"] as? Int, try index.count())
        XCTAssertEqual(json["rows"] as? Int, 8)
        XCTAssertEqual(json["dim"] as? Int, try XCTUnwrap(index.model()).embeddingDimension)
        XCTAssertEqual(json["labels"] as? Int, 3)
        XCTAssertEqual(json["queries"] as? Int, 3)
        XCTAssertEqual(json["iterations"] as? Int, 2)
        XCTAssertEqual(json["db"] as? String, db)
        XCTAssertFalse((json["cpu"] as? String ?? "").isEmpty)

        // Without --labels the relabel timing uses 20 labels; the table names the index and its size.
        let table = try zeroshot(["bench", "--db", db, "--iterations", "1", "--queries", "1"], in: dir)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("index: \(db)\n8 rows, dim "), table.stdout)
        XCTAssertTrue(table.stdout.contains(", 20 labels, 1 queries"), table.stdout)
        for key in ["index_open_ms", "search_ms", "relabel_ms", "relabel_text_ms"] {
            XCTAssertTrue(table.stdout.contains("\n" + key), key)
        }
    }

    func testBenchOfAMissingOrEmptyIndexFailsNamingIt() throws {
        let dir = try temporaryDirectory(self)
        let missing = dir.appendingPathComponent("none.db").path
        let r = try zeroshot(["bench", "--db", missing, "--iterations", "1"], in: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(missing), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "bench creates no index")

        // An index whose only image was removed: nothing to time.
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: photo("rocket.jpg"), to: photos.appendingPathComponent("rocket.jpg"))
        let db = dir.appendingPathComponent("photos.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", fixtureModel().path, "--quiet", "photos"], in: dir).status, 0)
        try FileManager.default.removeItem(at: photos.appendingPathComponent("rocket.jpg"))
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", fixtureModel().path, "--quiet", "photos"], in: dir).status, 0)
        let empty = try zeroshot(["bench", "--db", db, "--iterations", "1"], in: dir)
        XCTAssertEqual(empty.status, 1, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("\(db): the index holds no images"), empty.stderr)

        let zero = try zeroshot(["bench", "--db", db, "--queries", "0"], in: dir)
        XCTAssertNotEqual(zero.status, 0)
        XCTAssertTrue(zero.stderr.contains("--queries 0 is out of range"), zero.stderr)

        // Image-tower options do not apply to an index's timings: usage errors, not silently ignored.
        let image = try zeroshot(["bench", "--db", db, "--image", photo("rocket.jpg").path], in: dir)
        XCTAssertEqual(image.status, 64, image.stderr)
        XCTAssertTrue(image.stderr.contains("error: --image times the image tower; it does not apply to bench --db"),
                      image.stderr)
        let batch = try zeroshot(["bench", "--db", db, "--batch", "4"], in: dir)
        XCTAssertEqual(batch.status, 64, batch.stderr)
        XCTAssertTrue(batch.stderr.contains("error: --batch sizes the image tower's calls"), batch.stderr)
    }
}
