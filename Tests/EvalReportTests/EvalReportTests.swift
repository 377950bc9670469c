import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import EvalReport
import Evaluation
import ImageIO
import ZeroShot

/// Reports of hand-built `EvaluationResult`s: the files, their sizes, the SVG as XML, the page's escaping and
/// thumbnails. Set EVALREPORT_KEEP_DIR to a directory to keep the reports (one sub-directory per test) for viewing.
final class EvalReportTests: XCTestCase {
    private static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/images")

    private var scratch: URL!
    private var keep = false

    override func setUpWithError() throws {
        if let dir = ProcessInfo.processInfo.environment["EVALREPORT_KEEP_DIR"], !dir.isEmpty {
            scratch = URL(fileURLWithPath: dir).appendingPathComponent(name.filter { $0.isLetter || $0.isNumber })
            try? FileManager.default.removeItem(at: scratch)
            keep = true
        } else {
            scratch = FileManager.default.temporaryDirectory.appendingPathComponent("evalreport-\(UUID().uuidString)")
        }
    }

    override func tearDownWithError() throws {
        if !keep { try? FileManager.default.removeItem(at: scratch) }
    }

    // MARK: building results

    private func record(_ t: Int, _ top: [Int], image: String = "img.jpg", location: String = "/nonexistent/img.jpg")
        -> EvalRecord {
        EvalRecord(image: image, location: location, trueClass: t, topClasses: top,
                   topScores: top.enumerated().map { 0.6 / Float($0.offset + 1) }, trueScore: 0.05)
    }

    /// A deterministic synthetic evaluation: class k has 0-24 images (every 17th class none), recall falling with
    /// k, mistakes mostly into the next class.
    private func synthetic(_ classes: [String], seed: UInt64 = 7) -> EvaluationResult {
        var state = seed
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        let c = classes.count
        var records: [EvalRecord] = []
        for k in 0..<c where k % 17 != 5 {
            let count = 4 + Int(next() % 21)
            let accuracy = 0.95 - 0.7 * Double(k) / Double(c)
            for i in 0..<count {
                var predicted = k
                if uniform() > accuracy {
                    predicted = uniform() < 0.6 ? (k + 1) % c : Int(next() % UInt64(c))
                }
                var top = [predicted]
                for candidate in [k, (k + 1) % c, (k + 2) % c, (k + 3) % c, (k + 4) % c, (k + 5) % c]
                where !top.contains(candidate) && top.count < min(5, c) {
                    top.append(candidate)
                }
                records.append(record(k, top, image: "class\(k)/\(i).jpg", location: "/nonexistent/\(k)/\(i).jpg"))
            }
        }
        return EvaluationResult(classes: classes, records: records)
    }

    // MARK: checks

    private func decodePNG(_ url: URL) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: url)
    }

    /// Parses `url` as XML (failing the test when it does not parse) and returns the text of its `<desc>`/`<title>`.
    private func svgText(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        final class Collector: NSObject, XMLParserDelegate {
            var inText = false
            var text = ""
            var root = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) {
                if root.isEmpty { root = name }
                inText = name == "desc" || name == "title"
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
                        qualifiedName: String?) {
                inText = false
                text += "\n"
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { text += string } }
        }
        let parser = XMLParser(data: try Data(contentsOf: url))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(),
                      "\(url.lastPathComponent) is not XML: \(String(describing: parser.parserError))",
                      file: file, line: line)
        XCTAssertEqual(collector.root, "svg", file: file, line: line)
        return collector.text
    }

    private func html(_ dir: URL) throws -> String {
        try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
    }

    // MARK: tests

    /// 3 classes with HTML-special and non-Latin names, one class without images; thumbnails from real files
    /// (one with EXIF orientation 6), a missing file and a file that is no image.
    func testSmallReportEscapesNamesAndHandlesUnreadableThumbnails() throws {
        let classes = ["<b>cat</b> & \"dog\"", "日本語 café ё", "l'ours > ünï"]
        let real = Self.images.appendingPathComponent("jpeg_real_imagenet.jpg").path
        let rotated = Self.images.appendingPathComponent("jpeg_orientation_6.jpg").path
        let notImage = Self.images.appendingPathComponent("not_an_image.txt").path
        let records = [
            record(0, [0, 1, 2], image: "a/1.jpg", location: real),
            record(0, [1, 0, 2], image: "a/<2>.jpg", location: real),
            record(0, [1, 2, 0], image: "a/3.jpg", location: rotated),
            record(0, [1, 0, 2], image: "a/4.jpg", location: "/nonexistent/missing.jpg"),
            record(0, [1, 0, 2], image: "a/5.jpg", location: notImage),
            record(1, [1, 0, 2], image: "b/1.jpg", location: real),
            record(1, [0, 1, 2], image: "b/2.jpg", location: rotated),
        ]
        let result = EvaluationResult(classes: classes, records: records)
        let written = try EvalReport.write(result, to: scratch, title: "Test & <report>",
                                           details: [("Model", "openai/clip-vit-base-patch32"),
                                                     ("Templates", "a <photo> of {}")])
        let names = written.map { $0.path.replacingOccurrences(of: scratch.path + "/", with: "") }
        XCTAssertEqual(names, ["confusion.png", "confusion.svg", "recall.png", "recall.svg",
                               "thumbs/000.png", "thumbs/001.png", "thumbs/004.png", "index.html"])
        for url in written { XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path) }

        let confusion = try decodePNG(scratch.appendingPathComponent("confusion.png"))
        XCTAssertTrue((400...900).contains(confusion.width), "\(confusion.width)")
        XCTAssertTrue((300...900).contains(confusion.height), "\(confusion.height)")
        let recall = try decodePNG(scratch.appendingPathComponent("recall.png"))
        XCTAssertTrue((600...1300).contains(recall.width), "\(recall.width)")
        XCTAssertTrue((100...400).contains(recall.height), "\(recall.height)")
        // The heatmap is not blank: it has the scale's darkest blues (class 0 row: 4 of 5 predicted as class 1).
        XCTAssertTrue(stride(from: 0, to: confusion.pixels.count, by: 3).contains {
            confusion.pixels[$0] < 40 && confusion.pixels[$0 + 2] > 90
        })

        for svg in ["confusion.svg", "recall.svg"] {
            let text = try svgText(scratch.appendingPathComponent(svg))
            for name in classes { XCTAssertTrue(text.contains(name), "\(svg) lacks \(name)") }
            XCTAssertTrue(text.contains("Test & <report>"))
        }

        // Thumbnails: fit 160 px; EXIF orientation applied (40×30 stored, 30×40 shown).
        let t0 = try decodePNG(scratch.appendingPathComponent("thumbs/000.png"))
        XCTAssertEqual([t0.width, t0.height], [160, 160])
        let t1 = try decodePNG(scratch.appendingPathComponent("thumbs/001.png"))
        XCTAssertEqual([t1.width, t1.height], [30, 40])
        // Same pixels as ImageIO's decode of the source (not resized: smaller than the thumbnail size).
        XCTAssertEqual(t1, try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: rotated)))

        let page = try html(scratch)
        XCTAssertTrue(page.contains("&lt;b&gt;cat&lt;/b&gt; &amp; &quot;dog&quot;"))
        XCTAssertTrue(page.contains("日本語 café ё"))
        XCTAssertTrue(page.contains("l&#39;ours &gt; ünï"))
        XCTAssertTrue(page.contains("<title>Test &amp; &lt;report&gt;</title>"))
        XCTAssertTrue(page.contains("a &lt;photo&gt; of {}"))
        XCTAssertTrue(page.contains("a/&lt;2&gt;.jpg"))
        XCTAssertFalse(page.contains("<b>cat"))
        XCTAssertFalse(page.contains("<2>"))
        // Pair 0→1: a/<2> (000), a/3 (001), the missing file and the text file (placeholders); pair 1→0: b/2 (004).
        for thumb in ["thumbs/000.png", "thumbs/001.png", "thumbs/004.png"] {
            XCTAssertTrue(page.contains("src=\"\(thumb)\""), thumb)
        }
        XCTAssertFalse(page.contains("thumbs/002.png") || page.contains("thumbs/003.png"))
        // Shown with the long side at 160 px (the 30×40 one enlarged), linked to the source file.
        XCTAssertTrue(page.contains("<img src=\"thumbs/000.png\" width=\"160\" height=\"160\""))
        XCTAssertTrue(page.contains("<img src=\"thumbs/001.png\" width=\"120\" height=\"160\""))
        XCTAssertTrue(page.contains("<a href=\"\(URL(fileURLWithPath: rotated).absoluteString)\""))
        // The missing file and the text file: placeholders with the reason, naming the file.
        XCTAssertEqual(page.components(separatedBy: "class=\"placeholder\"").count - 1, 2)
        XCTAssertTrue(page.contains("/nonexistent/missing.jpg"))
        XCTAssertTrue(page.contains("not_an_image.txt"))
        XCTAssertTrue(page.contains("confusion.png") && page.contains("recall.png"))
        XCTAssertFalse(page.contains("<script"))
        XCTAssertFalse(page.contains("http://") || page.contains("https://"))
        // Summary numbers: 2 of 7 correct.
        XCTAssertTrue(page.contains("28.57 % (2 of 7)"))
        // Pairs: 0→1 (4 images) first, then 1→0 (1 image); the class without images (class 2) is in the table.
        let first = try XCTUnwrap(page.range(of: "4 of 5 images"))
        let second = try XCTUnwrap(page.range(of: "1 of 2 images"))
        XCTAssertLessThan(first.lowerBound, second.lowerBound)
        XCTAssertTrue(page.contains("<tr class=\"empty\"><td>2</td>"))
    }

    /// 100 classes (CIFAR-100 names): the sizes of a readable matrix and bar chart.
    func testHundredClasses() throws {
        let classes = try XCTUnwrap(PromptSets.builtInClassNames("cifar100"))
        let result = synthetic(classes)
        _ = try EvalReport.write(result, to: scratch, title: "CIFAR-100", details: [])
        let confusion = try decodePNG(scratch.appendingPathComponent("confusion.png"))
        XCTAssertTrue((2000...2700).contains(confusion.width), "\(confusion.width)")
        XCTAssertTrue((2000...2700).contains(confusion.height), "\(confusion.height)")
        let recall = try decodePNG(scratch.appendingPathComponent("recall.png"))
        XCTAssertTrue((1600...2000).contains(recall.height), "\(recall.height)")
        for svg in ["confusion.svg", "recall.svg"] {
            let text = try svgText(scratch.appendingPathComponent(svg))
            for name in classes { XCTAssertTrue(text.contains(name), "\(svg) lacks \(name)") }
        }
        let page = try html(scratch)
        for name in classes { XCTAssertTrue(page.contains("<td>\(name)</td>"), name) }
        // Thumbnail sources do not exist: 10 pairs, each with placeholders, no thumbnail file.
        XCTAssertEqual(page.components(separatedBy: "<section class=\"pair\">").count - 1, 10)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("thumbs").path))
    }

    /// 1,000 classes (ImageNet names): bounded sizes, names of every k-th class on the axes and a note saying so,
    /// every name in the SVG's description.
    func testThousandClassesStayBounded() throws {
        let classes = try XCTUnwrap(PromptSets.builtInClassNames("imagenet"))
        let result = synthetic(classes)
        _ = try EvalReport.write(result, to: scratch, title: "ImageNet", details: [("Dataset", "val")])
        let confusion = try decodePNG(scratch.appendingPathComponent("confusion.png"))
        XCTAssertTrue((2000...3000).contains(confusion.width), "\(confusion.width)")
        XCTAssertTrue((2000...3000).contains(confusion.height), "\(confusion.height)")
        let recall = try decodePNG(scratch.appendingPathComponent("recall.png"))
        XCTAssertTrue(recall.height <= 2300, "\(recall.height)")
        let text = try svgText(scratch.appendingPathComponent("confusion.svg"))
        for name in classes { XCTAssertTrue(text.contains(name), name) }
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(
            atPath: scratch.appendingPathComponent("confusion.svg").path)[.size] as? Int)
        XCTAssertLessThan(size, 20_000_000)
    }

    /// No images at all, and classes whose rows are all zero: every file is written, the page says there are no
    /// confused pairs.
    func testNoImages() throws {
        let result = EvaluationResult(classes: ["a", "b", "c", "d", "e"], records: [])
        let written = try EvalReport.write(result, to: scratch, title: "empty", details: [])
        XCTAssertEqual(written.map(\.lastPathComponent),
                       ["confusion.png", "confusion.svg", "recall.png", "recall.svg", "index.html"])
        _ = try decodePNG(scratch.appendingPathComponent("confusion.png"))
        _ = try decodePNG(scratch.appendingPathComponent("recall.png"))
        _ = try svgText(scratch.appendingPathComponent("confusion.svg"))
        let page = try html(scratch)
        XCTAssertTrue(page.contains("No image was predicted as another class."))
        XCTAssertTrue(page.contains("<tr><th>Images</th><td>0</td></tr>"))
        let none = try EvalReport.write(EvaluationResult(classes: [], records: []),
                                        to: scratch.appendingPathComponent("none"), title: "none", details: [])
        XCTAssertEqual(none.count, 5)
    }

    /// Other files in the directory stay; ours are replaced.
    func testReplacesOwnFilesOnly() throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let other = scratch.appendingPathComponent("notes.txt")
        try Data("mine".utf8).write(to: other)
        try Data("old".utf8).write(to: scratch.appendingPathComponent("index.html"))
        let result = EvaluationResult(classes: ["a", "b"], records: [record(0, [1, 0]), record(1, [1, 0])])
        _ = try EvalReport.write(result, to: scratch, title: "again", details: [])
        XCTAssertEqual(try String(contentsOf: other, encoding: .utf8), "mine")
        XCTAssertTrue(try html(scratch).hasPrefix("<!DOCTYPE html>"))
    }

    /// A file where the directory should be, a directory where a file should be: errors naming the path.
    func testErrorsNameThePath() throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let result = EvaluationResult(classes: ["a", "b"], records: [record(0, [1, 0])])
        let file = scratch.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let inTheWay = EvalReportError(path: file.path, reason: "exists and is not a directory")
        XCTAssertThrowsError(try EvalReport.write(result, to: file, title: "t", details: [])) { error in
            XCTAssertEqual(error as? EvalReportError, inTheWay)
            XCTAssertTrue(error.localizedDescription.contains(file.path))
        }
        // A file where a parent directory should be: named, not the directory asked for.
        XCTAssertThrowsError(try EvalReport.write(result, to: file.appendingPathComponent("sub/report"), title: "t",
                                                  details: [])) {
            XCTAssertEqual($0 as? EvalReportError, inTheWay)
        }
        #if os(Linux)
        // A directory that cannot be created (procfs refuses new entries).
        XCTAssertThrowsError(try EvalReport.write(result, to: URL(fileURLWithPath: "/proc/zeroshot-report"), title: "t",
                                                  details: [])) {
            XCTAssertEqual(($0 as? EvalReportError)?.path, "/proc/zeroshot-report")
            XCTAssertTrue(($0 as? EvalReportError)?.reason.hasPrefix("cannot create the directory (") == true, "\($0)")
        }
        #endif
        // Parents are created.
        let nested = scratch.appendingPathComponent("a/b/c")
        XCTAssertEqual(try EvalReport.write(result, to: nested, title: "t", details: []).last?.path,
                       nested.appendingPathComponent("index.html").path)
        let dir = scratch.appendingPathComponent("report")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("recall.svg"),
                                                withIntermediateDirectories: true)
        XCTAssertThrowsError(try EvalReport.write(result, to: dir, title: "t", details: [])) { error in
            let e = error as? EvalReportError
            XCTAssertEqual(e?.path, dir.appendingPathComponent("recall.svg").path)
            XCTAssertEqual(e?.reason, "Is a directory")
            XCTAssertTrue(error.localizedDescription.contains("recall.svg"))
        }
    }

    /// The heatmap's pixels: a cell's colour is its row fraction on the scale, empty cells white, rows without
    /// images grey; the SVG has the PNG's size (one drawing).
    func testHeatmapColoursFollowRowFractions() throws {
        let result = EvaluationResult(classes: ["a", "b", "c"], records: [
            record(0, [0, 1, 2]), record(0, [1, 0, 2]), record(0, [1, 0, 2]), record(0, [1, 0, 2]),
            record(0, [1, 0, 2]), record(1, [0, 1, 2]), record(1, [1, 0, 2]),
        ])
        XCTAssertEqual(result.confusion, [[1, 4, 0], [1, 1, 0], [0, 0, 0]])
        let (drawing, placement) = ConfusionChart.plot(result, title: "colours")
        let p = try XCTUnwrap(placement)
        let dir = scratch!
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try drawing.png().write(to: dir.appendingPathComponent("c.png"))
        let image = try decodePNG(dir.appendingPathComponent("c.png"))
        XCTAssertEqual([image.width, image.height], [drawing.width, drawing.height])
        func pixel(row: Int, column: Int) -> [Int] {
            // Near the cell's top-left corner: inside the cell, off the grid lines and the printed count.
            let x = Int(p.matrixLeft + Double(column) * p.cell) + 4, y = Int(p.matrixTop + Double(row) * p.cell) + 4
            let i = (y * image.width + x) * 3
            return [Int(image.pixels[i]), Int(image.pixels[i + 1]), Int(image.pixels[i + 2])]
        }
        func expected(_ c: Color) -> [Int] { [c.red, c.green, c.blue].map { Int(($0 * 255).rounded()) } }
        func assertClose(_ a: [Int], _ b: [Int], line: UInt = #line) {
            XCTAssertTrue(zip(a, b).allSatisfy { abs($0 - $1) <= 1 }, "\(a) vs \(b)", line: line)
        }
        assertClose(pixel(row: 0, column: 0), expected(ColorScale.cellColor(fraction: 0.2)))
        assertClose(pixel(row: 0, column: 1), expected(ColorScale.cellColor(fraction: 0.8)))
        assertClose(pixel(row: 0, column: 2), [255, 255, 255])
        assertClose(pixel(row: 1, column: 0), expected(ColorScale.cellColor(fraction: 0.5)))
        assertClose(pixel(row: 2, column: 1), [0xEE, 0xF0, 0xF2])
        // Darker means more.
        XCTAssertGreaterThan(ColorScale.cellColor(fraction: 0.2).luminance,
                             ColorScale.cellColor(fraction: 0.8).luminance)

        let svg = String(decoding: try drawing.svg(), as: UTF8.self)
        XCTAssertTrue(svg.contains("width=\"\(drawing.width)px\" height=\"\(drawing.height)px\""),
                      String(svg.prefix(300)))
    }

    func testMarkupEscape() {
        XCTAssertEqual(Markup.escape("a<b>&\"c\"'d'\u{1}e"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;\u{FFFD}e")
    }

    func testRecallOrderWorstFirstEmptyLast() {
        let result = EvaluationResult(classes: ["a", "b", "c", "d"], records: [
            record(0, [0, 1]), record(0, [1, 0]), record(1, [0, 1]), record(3, [3, 0]),
        ])
        // Recalls: a 0.5, b 0, c no images, d 1.
        XCTAssertEqual(RecallChart.order(result), [1, 0, 3, 2])
    }
}
