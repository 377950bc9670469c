import Foundation
import XCTest
@testable import Evaluation
import TestSupport

/// Inputs a careless or hostile user gives: broken links in the dataset root, bytes that are not UTF-8, huge labels,
/// outputs aimed at the dataset itself, outputs that cannot be written.
final class EvalHostileDatasetTests: XCTestCase {
    /// A broken symbolic link or a link loop in the root may be meant as a class folder: it is a problem of the
    /// walk (named, with the system's reason), not a stray file of the root.
    func testBrokenLinksInTheRootAreProblems() throws {
        let t = try TemporaryTree()
        try t.write("cat/1.png", png)
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("loop").path,
                                                   withDestinationPath: "loop")
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("dog").path,
                                                   withDestinationPath: "/nonexistent-\(UUID().uuidString)")
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(d.classIDs, ["cat"])
        XCTAssertEqual(d.filesOutsideClasses, 0)
        let problems = d.problems.map(\.description)
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix(t.root.path + "/loop: ") && $0.contains("symbolic links") },
                      "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix(t.root.path + "/dog: ") && $0.contains("No such file") },
                      "\(problems)")
    }

    /// A manifest that is not UTF-8 names the line of the first bad byte sequence.
    func testInvalidUTF8NamesItsLine() throws {
        let t = try TemporaryTree()
        let csv = try t.write("m.csv", Data("a.png,cat\nb.png,dog\n".utf8) + Data([0x63, 0x2E, 0x70, 0x6E, 0x67, 0x2C, 0xFF, 0x0A]))
        XCTAssertThrowsError(try EvalDataset.load(csv.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(csv.path + ":3: the manifest is not UTF-8"), "\(error)")
        }
    }

    /// A label of a million digits (or characters) is cut in the message, which stays one readable line.
    func testHugeLabelsAreAbridgedInMessages() throws {
        let t = try TemporaryTree()
        let digits = String(repeating: "9", count: 1_000_000)
        let csv = try t.write("huge.csv", "a.png,1\nb.png,\(digits)\n")
        XCTAssertThrowsError(try EvalDataset.load(csv.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(csv.path + ":2: label 999"), String(text.prefix(200)))
            XCTAssertTrue(text.contains("(1000000 characters) is too large"), String(text.prefix(200)))
            XCTAssertLessThan(text.count, 300)
        }
        let name = String(repeating: "x", count: 100_000)
        let jsonl = try t.write("mixed.jsonl", "{\"path\": \"a.png\", \"label\": 1}\n{\"path\": \"b.png\", \"label\": \"\(name)\"}\n")
        XCTAssertThrowsError(try EvalDataset.load(jsonl.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(jsonl.path + ":2: label \"xxx"), String("\(error)".prefix(200)))
            XCTAssertLessThan("\(error)".count, 300)
        }
    }
}

final class EvalRepeatedImageTests: XCTestCase {
    /// An image listed twice in a manifest (by another spelling too) is named with both lines, and whether the
    /// labels disagree; both records stay in the dataset.
    func testRepeatedManifestImagesAreNamed() throws {
        let t = try TemporaryTree()
        let csv = try t.write("m.csv", "path,label\na.png,cat\nb.png,dog\n./a.png,cat\nsub/../b.png,cat\nc.png,dog\n")
        let d = try EvalDataset.load(csv.path)
        XCTAssertEqual(d.items.count, 5)
        XCTAssertEqual(d.repeatedImages, [
            .init(line: 4, firstLine: 2, image: "./a.png", otherClass: false),
            .init(line: 5, firstLine: 3, image: "sub/../b.png", otherClass: true),
        ])
        XCTAssertEqual(d.manifestWarnings(file: "m.csv"), [
            "m.csv:4: ./a.png is listed again (first on line 2); both records are evaluated",
            "m.csv:5: sub/../b.png is listed again (first on line 3, with another label); both records are evaluated",
        ])
        XCTAssertEqual(d.manifestWarnings(file: "m.csv", limit: 1).last, "m.csv: 1 more records list an image again")
        let once = try t.write("once.jsonl", "{\"path\": \"a.png\", \"label\": 0}\n{\"path\": \"b.png\", \"label\": 1}\n")
        XCTAssertTrue(try EvalDataset.load(once.path).manifestWarnings(file: once.path).isEmpty)
    }
}

final class EvalCSVSpacedLabelTests: XCTestCase {
    /// "a.png, 10" (a space after the comma) is class 10, as "a.png,10": read as names, " 10" would sort before " 2"
    /// and --classnames would name the wrong classes.
    func testIntegerLabelsWithSpacesAreClassIndices() throws {
        let t = try TemporaryTree()
        let csv = try t.write("m.csv", "path,label\na.png, 10\nb.png, 2\nc.png,3 \n")
        let d = try EvalDataset.load(csv.path)
        XCTAssertTrue(d.integerLabels)
        XCTAssertEqual(d.classIDs.count, 11)
        XCTAssertEqual(d.items.map(\.trueClass), [10, 2, 3])
        // A label that is a name keeps its spaces (RFC 4180: they are part of the field).
        let names = try t.write("n.csv", "a.png, cat\nb.png,10\nc.png,dog\n")
        XCTAssertEqual(try EvalDataset.load(names.path).classIDs, [" cat", "10", "dog"])
    }
}

final class EvalCSVHeaderTests: XCTestCase {
    /// A header label,path swaps the columns; a header of other names before integer labels is an error naming it
    /// (read as a record it was an image that fails and a class of its own).
    func testHeaderInEitherOrderAndUnknownHeaders() throws {
        let t = try TemporaryTree()
        let swapped = try t.write("s.csv", "Label , Path\n3,a.png\n1,b.png\n")
        let d = try EvalDataset.load(swapped.path)
        XCTAssertEqual(d.items.map(\.image), ["a.png", "b.png"])
        XCTAssertEqual(d.items.map(\.trueClass), [3, 1])
        let other = try t.write("o.csv", "filename,class\na.png,3\nb.png,1\n")
        XCTAssertThrowsError(try EvalDataset.load(other.path)) { error in
            XCTAssertEqual("\(error)", other.path + ":1: \"filename,class\" looks like a header row (every other label "
                           + "is an integer); a header row is path,label or label,path")
        }
        // Names as labels: a first record like the others is a record.
        let names = try t.write("n.csv", "a.png,cat\nb.png,dog\n")
        XCTAssertEqual(try EvalDataset.load(names.path).items.count, 2)
    }
}

final class EvalImageFolderLinkTests: XCTestCase {
    /// A class folder that links to the root would hold every other class's images as its own: a problem, and the
    /// class stays empty. An image reached again in another class through a link is named with both classes.
    func testClassLinkedToTheRootAndImagesInTwoClasses() throws {
        let t = try TemporaryTree()
        try t.write("a/1.png", png)
        try t.write("b/2.png", png)
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("self").path, withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: t.root.appendingPathComponent("b/sub").path, withDestinationPath: "../a")
        let d = try EvalDataset.load(t.root.path)
        XCTAssertEqual(d.classIDs, ["a", "b", "self"])
        XCTAssertEqual(d.items.map(\.image), ["a/1.png", "b/2.png", "b/sub/1.png"])
        XCTAssertEqual(d.items.map(\.trueClass), [0, 1, 1])
        XCTAssertEqual(d.problems, [.symlinkLoop(t.root.path + "/self", ancestor: t.root.path)])
        XCTAssertEqual(d.emptyClasses, [2])
        XCTAssertEqual(d.sameFiles, [.init(image: "b/sub/1.png", firstImage: "a/1.png", otherClass: true)])
        XCTAssertEqual(d.warnings().first, "b/sub/1.png: the same file as a/1.png (through a link), which is of another "
                       + "class: the image is evaluated as both classes")
    }
}

final class EvalManifestURLTests: XCTestCase {
    /// A file: URL names a local file (percent-encoded); another scheme is an error naming the line (it was looked
    /// for as a relative file and failed as "No such file or directory").
    func testFileURLsAndOtherSchemes() throws {
        let t = try TemporaryTree()
        let image = try t.write("a b.png", png)
        let list = try t.write("m.jsonl", "{\"path\": \"\(image.absoluteString)\", \"label\": \"cat\"}\n")
        let d = try EvalDataset.load(list.path)
        XCTAssertEqual(d.items.first?.location, image.standardizedFileURL.path)
        let s3 = try t.write("s3.csv", "a.png,cat\ns3://bucket/b.png,dog\n")
        XCTAssertThrowsError(try EvalDataset.load(s3.path)) { error in
            XCTAssertEqual("\(error)", s3.path + ":2: s3://bucket/b.png: a s3 URL; paths are files, file: URLs or http(s) URLs")
        }
    }
}
