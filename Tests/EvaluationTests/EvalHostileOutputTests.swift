import Foundation
import XCTest
import TestSupport

/// `zeroshot eval` outputs aimed at the dataset, or that cannot be written.
final class EvalHostileOutputTests: XCTestCase {
    let model = fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu").path

    func eval(_ arguments: [String]) throws -> EvalCommandLineTests.Run {
        try EvalCommandLineTests.run(["eval", "--model", model] + arguments)
    }

    /// --predictions naming the manifest, or one of the dataset's images (by another spelling or a link), is refused
    /// before anything is written: the file stays as it was.
    func testPredictionsNeverOverwriteTheDataset() throws {
        let t = try TemporaryTree()
        try t.write("img/a.png", png)
        try t.write("img/b.png", png)
        let text = "path,label\nimg/a.png,cat\nimg/b.png,dog\n"
        let csv = try t.write("list.csv", text)
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("link.jsonl").path,
                                                   withDestinationPath: csv.path)
        for target in [csv.path, t.root.appendingPathComponent("link.jsonl").path] {
            let r = try eval(["--predictions", target, csv.path])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("that file is the dataset's manifest"), r.stderr)
            XCTAssertEqual(try String(contentsOf: csv, encoding: .utf8), text)
        }
        let image = t.root.appendingPathComponent("img/../img/b.png").path
        let r = try eval(["--predictions", image, csv.path])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("image img/b.png of the dataset"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: t.root.appendingPathComponent("img/b.png")), png)
        // The report's files too.
        let named = try t.write("named.csv", "path,label\nimg/a.png,cat\nimg/index.html,dog\n")
        try t.write("img/index.html", png)
        let report = try eval(["--report", t.root.appendingPathComponent("img").path, named.path])
        XCTAssertEqual(report.status, 64, report.stderr)
        XCTAssertTrue(report.stderr.contains("index.html is image img/index.html of the dataset"), report.stderr)
        XCTAssertEqual(try Data(contentsOf: t.root.appendingPathComponent("img/index.html")), png)
    }

    /// A report inside an ImageFolder dataset (its root, a class folder, through a link) would be read as a class or
    /// as images by the next run: refused before the model loads. A hidden folder there is walked by nobody.
    func testReportInsideAnImageFolderIsRefusedUnlessHidden() throws {
        let t = try TemporaryTree()
        try t.write("data/cat/1.png", png)
        try t.write("data/dog/1.png", png)
        let data = t.root.appendingPathComponent("data").path
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("alias").path,
                                                   withDestinationPath: data)
        for dir in [data, data + "/report", data + "/cat/report", t.root.appendingPathComponent("alias/x").path] {
            let r = try eval([ "--report", dir, data])
            XCTAssertEqual(r.status, 64, "\(dir): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--report \(dir) is inside the "), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty)
        }
        let cache = try eval(["--text-cache", data + "/cache", data])
        XCTAssertEqual(cache.status, 64, cache.stderr)
        XCTAssertTrue(cache.stderr.contains("--text-cache \(data)/cache is inside the ImageFolder dataset"), cache.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data).sorted(), ["cat", "dog"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: data + "/cat"), ["1.png"])
        let hidden = try eval(["--format", "json", "--report", data + "/.report", data])
        XCTAssertEqual(hidden.status, 0, hidden.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data + "/.report/index.html"))
        let again = try eval(["--format", "json", data])
        XCTAssertEqual(again.status, 0, again.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["classes"] as? [String], ["cat", "dog"])
        XCTAssertEqual(json["n"] as? Int, 2)
    }

    /// Predictions that cannot be written (a full device) are reported once; the evaluation goes on and the
    /// metrics are written, exit code 1.
    func testAFullPredictionsDeviceKeepsTheMetrics() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let t = try TemporaryTree()
        try t.write("cat/1.png", png)
        try t.write("dog/1.png", png)
        let r = try eval(["--format", "json", "--predictions", "/dev/full", t.root.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "/dev/full: cannot write the predictions").count, 2, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["n"] as? Int, 2)
    }

    /// A report file that cannot be written (a folder in its place) fails naming it, after the metrics are written.
    func testAReportThatCannotBeWrittenKeepsTheMetrics() throws {
        let t = try TemporaryTree()
        try t.write("data/cat/1.png", png)
        try t.write("data/dog/1.png", png)
        try t.folder("report/confusion.png")
        let r = try eval(["--format", "json", "--report", t.root.appendingPathComponent("report").path,
                          t.root.appendingPathComponent("data").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("report/confusion.png: Is a directory"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["n"] as? Int, 2)
    }

    /// Class names with a line break or a tab (quoted CSV labels) keep the table one row per class, escaped as the
    /// messages escape them; the JSON keeps them exact.
    func testTableEscapesControlCharactersInClassNames() throws {
        let t = try TemporaryTree()
        try t.write("a.png", png)
        try t.write("b.png", png)
        let csv = try t.write("list.csv", "path,label\na.png,\"two\nlines\"\nb.png,\"tab\there\"\n")
        let r = try eval([csv.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("two\\u{a}lines"), r.stdout)
        XCTAssertTrue(r.stdout.contains("tab\\u{9}here"), r.stdout)
        XCTAssertFalse(r.stdout.contains("two\n"), r.stdout)
        XCTAssertFalse(r.stdout.contains("\t"), r.stdout)
        let json = try eval(["--format", "json", csv.path])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["classes"] as? [String], ["tab\there", "two\nlines"])
    }

    /// When no image can be read the table shows no accuracy (not 0 %), and a last error line says so; exit 1.
    func testNoReadableImageShowsNoAccuracy() throws {
        let t = try TemporaryTree()
        let csv = try t.write("list.csv", "path,label\nmissing1.png,cat\nmissing2.png,dog\n")
        let r = try eval([csv.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("0 evaluated, 2 failed (left out)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("top-1                  n/a (no image evaluated)"), r.stdout)
        XCTAssertFalse(r.stdout.contains("0.00%"), r.stdout)
        XCTAssertTrue(r.stderr.hasSuffix("\(csv.path): none of the 2 images could be evaluated; the metrics are empty\n"),
                      r.stderr)
    }

    /// --predictions naming a file the report writes (index.html, a thumbnail) is refused: the report would
    /// overwrite the predictions.
    func testPredictionsAreNoFileOfTheReport() throws {
        let t = try TemporaryTree()
        try t.write("data/cat/1.png", png)
        try t.write("data/dog/1.png", png)
        let report = t.root.appendingPathComponent("report").path
        for target in [report + "/index.html", report + "/thumbs/000.png", t.root.path + "/./report/recall.svg"] {
            let r = try eval(["--report", report, "--predictions", target, t.root.appendingPathComponent("data").path])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("--predictions \(target) is a file of the report in \(report)"), r.stderr)
        }
    }

    /// More classes than eval handles (--classnames with 50,001 names) fail at once, naming the source; the run
    /// went on for minutes towards a confusion matrix of classes² cells.
    func testTooManyClassesFailFast() throws {
        let t = try TemporaryTree()
        try t.write("a.png", png)
        let names = try t.write("names.txt", (0...50_000).map { "class \($0)" }.joined(separator: "\n") + "\n")
        let list = try t.write("list.jsonl", "{\"path\": \"a.png\", \"label\": 1}\n")
        let start = Date()
        let r = try eval(["--classnames", names.path, list.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--classnames \(names.path): 50001 classes; eval handles at most 50000"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
    }
}
