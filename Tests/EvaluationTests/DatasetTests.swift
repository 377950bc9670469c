import Foundation
import XCTest
@testable import Evaluation
import Inputs
import ZeroShot

/// A temporary folder with files written from (relative path, bytes); removed at the end of the test.
final class TemporaryTree {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Writes `contents` at `path` below the root, creating folders.
    @discardableResult
    func write(_ path: String, _ contents: Data) throws -> URL {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url)
        return url
    }

    @discardableResult
    func write(_ path: String, _ text: String) throws -> URL { try write(path, Data(text.utf8)) }

    func folder(_ path: String) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent(path), withIntermediateDirectories: true)
    }
}

/// A real PNG (a fixture image), so that the walk recognises it by content.
let png = try! Data(contentsOf: evalFixtures.appendingPathComponent("mnist/mnist_00_7.png"))

final class ImageFolderTests: XCTestCase {
    func testClassesInPythonSortedOrderAndImagesInWalkOrder() throws {
        let t = try TemporaryTree()
        // sorted(["9", "10", "b", "Z", "é", "日本", "a b"]) == ["10", "9", "Z", "a b", "b", "é", "日本"]
        for name in ["9", "10", "b", "Z", "é", "日本", "a b"] { try t.write("\(name)/x.png", png) }
        try t.write("b/sub/2.png", png)
        try t.write("b/sub/10.png", png)
        try t.write("b/1.png", png)
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(d.layout, .imageFolder)
        XCTAssertEqual(d.classIDs, ["10", "9", "Z", "a b", "b", "é", "日本"])
        XCTAssertEqual(d.items.map(\.image), ["10/x.png", "9/x.png", "Z/x.png", "a b/x.png",
                                              "b/1.png", "b/sub/10.png", "b/sub/2.png", "b/x.png", "é/x.png", "日本/x.png"])
        XCTAssertEqual(d.items.map(\.trueClass), [0, 1, 2, 3, 4, 4, 4, 4, 5, 6])
        XCTAssertEqual(d.items[0].location, t.root.appendingPathComponent("10/x.png").standardizedFileURL.path)
        XCTAssertEqual(d.items[0].entry.name, "10/x.png")
    }

    func testHiddenFoldersNonImagesEmptyClassesAndRootFiles() throws {
        let t = try TemporaryTree()
        try t.write("cat/a.png", png)
        try t.write("cat/notes.txt", "not an image")
        try t.write("cat/.hidden.png", png)
        try t.write(".git/objects/x.png", png)
        try t.write(".cache/y.png", png)
        try t.folder("dog")
        try t.write("dog/.gitkeep", "")
        try t.write("README.md", "hello")
        try t.write("stray.png", png)
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(d.classIDs, ["cat", "dog"])
        XCTAssertEqual(d.items.map(\.image), ["cat/a.png"])
        XCTAssertEqual(d.skippedNonImages, 1)
        XCTAssertEqual(d.filesOutsideClasses, 2)
        XCTAssertEqual(d.emptyClasses, [1])
        XCTAssertEqual(d.warnings(classNames: ["cat", "hound"]), ["dog: the class folder holds no image; class #1 \"dog\" "
            + "(\"hound\") is still a class (with n 0, left out of mean_per_class_recall)"])
    }

    func testNamesThatAreNotUTF8AreReported() throws {
        let t = try TemporaryTree()
        try t.write("cat/a.png", png)
        let bad = t.root.path + "/d\u{FF}"
        var raw = Array(t.root.path.utf8) + [0x2F, 0x64, 0xFF, 0]
        XCTAssertEqual(raw.withUnsafeMutableBufferPointer { mkdir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 0o755) }, 0, bad)
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(d.classIDs, ["cat"])
        XCTAssertEqual(d.problems, [.invalidName(directory: t.root.path, bytes: [0x64, 0xFF])])
    }

    func testAFolderWithoutClassesIsAnError() throws {
        let t = try TemporaryTree()
        try t.write("a.png", png)
        try t.write(".hidden/b.png", png)
        XCTAssertThrowsError(try EvalDataset.load(t.root.path)) { error in
            XCTAssertEqual(error as? DatasetError, .noClasses(t.root.path))
        }
        XCTAssertThrowsError(try EvalDataset.load(t.root.appendingPathComponent("nope").path)) { error in
            XCTAssertTrue("\(error)".contains("nope"), "\(error)")
        }
        let other = try t.write("list.txt", "a,b\n")
        XCTAssertThrowsError(try EvalDataset.load(other.path)) { error in
            XCTAssertEqual(error as? DatasetError, .unknownFormat(other.path))
        }
    }
}

final class ManifestTests: XCTestCase {
    func testCSVQuotingHeaderAndStringLabels() throws {
        let t = try TemporaryTree()
        let csv = try t.write("m/list.csv", "path,label\r\n\"a, b.png\",dog\r\n\"say \"\"hi\"\".png\",\"cat, tabby\"\r\n"
                              + "\r\n/abs/c.png,\"two\nlines\"\r\nhttps://example.com/d.png,dog\r\n")
        let d = try EvalDataset.load(csv.path)
        XCTAssertEqual(d.layout, .csv)
        XCTAssertFalse(d.integerLabels)
        XCTAssertEqual(d.classIDs, ["cat, tabby", "dog", "two\nlines"])
        XCTAssertEqual(d.items.map(\.image), ["a, b.png", "say \"hi\".png", "/abs/c.png", "https://example.com/d.png"])
        XCTAssertEqual(d.items.map(\.trueClass), [1, 0, 2, 1])
        XCTAssertEqual(d.items[0].location, t.root.appendingPathComponent("m/a, b.png").standardizedFileURL.path)
        XCTAssertEqual(d.items[2].location, "/abs/c.png")
        XCTAssertEqual(d.items[3].entry.location, .remote(URL(string: "https://example.com/d.png")!))
    }

    /// Found by the dataset fuzzer: the largest Int as a class index overflowed while its error was written.
    func testLargestIntegerLabelIsAnErrorNotAnOverflow() throws {
        let t = try TemporaryTree()
        for (name, text) in [("list.csv", "path,label\na.png,9223372036854775807\n"),
                             ("list.jsonl", "{\"path\": \"a.png\", \"label\": 9223372036854775807}\n")] {
            let file = try t.write(name, text)
            XCTAssertThrowsError(try EvalDataset.load(file.path)) { error in
                XCTAssertTrue("\(error)".contains("label 9223372036854775807 is a class index that makes "
                                                  + "9223372036854775808 classes (at most 50000)"), "\(error)")
            }
        }
    }

    func testCSVIntegerLabelsAreClassIndices() throws {
        let t = try TemporaryTree()
        let csv = try t.write("list.csv", "Path, Label\na.png,3\nb.png,0\nc.png,007\n")
        let d = try EvalDataset.load(csv.path)
        XCTAssertTrue(d.integerLabels)
        XCTAssertEqual(d.classIDs, ["0", "1", "2", "3", "4", "5", "6", "7"])
        XCTAssertEqual(d.items.map(\.trueClass), [3, 0, 7])
        let withNames = try EvalDataset.load(csv.path, classCount: 10)
        XCTAssertEqual(withNames.classIDs.count, 10)
        XCTAssertThrowsError(try EvalDataset.load(csv.path, classCount: 5)) { error in
            XCTAssertEqual(error as? DatasetError, .labelOutOfRange(csv.path, line: 4, label: 7, classCount: 5))
            XCTAssertTrue("\(error)".hasPrefix(csv.path + ":4: label 7"), "\(error)")
        }
        let huge = try t.write("huge.csv", "a.png,1\nb.png,99999999\n")
        XCTAssertThrowsError(try EvalDataset.load(huge.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(huge.path + ":2: label 99999999"), "\(error)")
        }
        // One label that is not a plain integer makes them all names.
        let mixed = try t.write("mixed.csv", "a.png,3\nb.png,-1\nc.png,10\n")
        let m = try EvalDataset.load(mixed.path)
        XCTAssertFalse(m.integerLabels)
        XCTAssertEqual(m.classIDs, ["-1", "10", "3"])
    }

    func testCSVErrorsNameTheLine() throws {
        let t = try TemporaryTree()
        let cases: [(String, Int, String)] = [
            ("path,label\na.png,cat\nb.png\n", 3, "1 field"),
            ("a.png,cat\n\nb.png,cat,extra\n", 3, "3 fields"),
            ("a.png,cat\nb\"c.png,cat\n", 2, "quote inside an unquoted field"),
            ("a.png,cat\n\"b.png\"x,cat\n", 2, "after the closing quote"),
            ("a.png,cat\n\"b.png,cat\n", 2, "not closed"),
            ("a.png,cat\n,cat\n", 2, "path is empty"),
            ("a.png,cat\n\"multi\nline.png\",cat\nc.png,\n", 4, "label is empty"),
        ]
        for (i, (text, line, reason)) in cases.enumerated() {
            let file = try t.write("bad\(i).csv", text)
            XCTAssertThrowsError(try EvalDataset.load(file.path), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(file.path):\(line): "), "\(text): \(error)")
                XCTAssertTrue("\(error)".contains(reason), "\(text): \(error)")
            }
        }
        let empty = try t.write("empty.csv", "path,label\n\n")
        XCTAssertThrowsError(try EvalDataset.load(empty.path)) { XCTAssertEqual($0 as? DatasetError, .empty(empty.path)) }
    }

    func testJSONLStringAndIntegerLabels() throws {
        let t = try TemporaryTree()
        let strings = try t.write("s.jsonl", "{\"path\": \"x/a.png\", \"label\": \"zebra\"}\n\n"
                                  + "{\"label\": \"ant\", \"path\": \"b.png\", \"extra\": 1}\r\n")
        let s = try EvalDataset.load(strings.path)
        XCTAssertEqual(s.layout, .jsonl)
        XCTAssertEqual(s.classIDs, ["ant", "zebra"])
        XCTAssertEqual(s.items.map(\.trueClass), [1, 0])
        let ints = try t.write("i.jsonl", "{\"path\": \"a.png\", \"label\": 2}\n{\"path\": \"b.png\", \"label\": 0}\n"
                               + "{\"path\": \"c.png\", \"label\": 1.0}\n")
        let i = try EvalDataset.load(ints.path)
        XCTAssertTrue(i.integerLabels)
        XCTAssertEqual(i.classIDs, ["0", "1", "2"])
        XCTAssertEqual(i.items.map(\.trueClass), [2, 0, 1])
    }

    func testJSONLErrorsNameTheLine() throws {
        let t = try TemporaryTree()
        let ok = "{\"path\": \"a.png\", \"label\": 1}\n"
        let cases: [(String, Int, String)] = [
            (ok + "{\"path\": \"b.png\", \"label\": \"cat\"}\n", 2, "string"),
            (ok + "\n{\"path\": \"b.png\"}\n", 3, "no \"label\""),
            (ok + "{\"label\": 1}\n", 2, "no \"path\""),
            (ok + "not json\n", 2, "not valid JSON"),
            (ok + "{\"path\": \"b.png\", \"label\": 1.5}\n", 2, "neither a string nor an integer"),
            (ok + "{\"path\": \"b.png\", \"label\": true}\n", 2, "neither a string nor an integer"),
            (ok + "{\"path\": \"b.png\", \"label\": -1}\n", 2, "negative"),
            (ok + "{\"path\": 3, \"label\": 1}\n", 2, "\"path\" is not a string"),
            (ok + "[1, 2]\n", 2, "not a JSON object"),
        ]
        for (i, (text, line, reason)) in cases.enumerated() {
            let file = try t.write("bad\(i).jsonl", text)
            XCTAssertThrowsError(try EvalDataset.load(file.path), text) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(file.path):\(line): "), "\(text): \(error)")
                XCTAssertTrue("\(error)".contains(reason), "\(text): \(error)")
            }
        }
    }

    func testClassNamesCountAndDuplicates() throws {
        let t = try TemporaryTree()
        for name in ["a", "b", "c"] { try t.write("\(name)/x.png", png) }
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(try displayNames(nil, for: d), ["a", "b", "c"])
        XCTAssertEqual(try displayNames(["cat", "dog", "eel"], for: d), ["cat", "dog", "eel"])
        XCTAssertThrowsError(try displayNames(["cat", "dog"], for: d, source: "--classnames names.txt")) { error in
            XCTAssertEqual("\(error)", "--classnames names.txt gives 2 class names but the dataset has 3 class folders")
        }
        XCTAssertThrowsError(try displayNames(["cat", "dog", "cat"], for: d)) { error in
            XCTAssertEqual(error as? DatasetError, .duplicateClassName(source: "--classnames", name: "cat", first: 0, second: 2))
        }
        // A built-in set is used as shipped; a repeated name is shown with its index.
        XCTAssertEqual(try displayNames(["cat", "dog", "cat"], for: d, builtIn: true), ["cat", "dog", "cat (#2)"])
        XCTAssertEqual(try displayNames(["cat", "cat (#1)", "cat"], for: d, builtIn: true), ["cat", "cat (#1)", "cat (#2)"])
        XCTAssertEqual(try displayNames(["cat", "cat", "cat (#1)"], for: d, builtIn: true), ["cat", "#1", "cat (#1)"])
        let imagenet = try XCTUnwrap(PromptSets.builtInClassNames("imagenet"))
        let csv = try t.write("i.csv", "a/x.png,657\nb/x.png,744\n")
        let shown = try displayNames(imagenet, for: try EvalDataset.load(csv.path, classCount: 1000), builtIn: true)
        XCTAssertEqual(Set(shown).count, 1000)
        XCTAssertEqual([shown[657], shown[744], shown[836], shown[837]], ["missile", "missile (#744)", "sunglasses", "sunglasses (#837)"])
    }
}
