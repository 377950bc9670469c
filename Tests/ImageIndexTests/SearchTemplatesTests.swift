import Foundation
import XCTest
import ImageIndex
import ZeroShot

/// `search --templates`: the query is the prompt-ensemble embedding of the text (and of each --not text).
final class SearchTemplatesTests: XCTestCase {
    func testSearchWithTemplateSetUsesTheEnsembleEmbedding() throws {
        let dir = try temporaryDirectory(self)
        let library = dir.appendingPathComponent("photos")
        try makeLibrary(at: library)
        let db = dir.appendingPathComponent("photos.db").path
        XCTAssertEqual(try zeroshot(["index", "--db", db, "--model", fixtureModel().path, library.path]).status, 0)
        let index = try ImageIndex(path: db)

        let r = try zeroshot(["search", "--db", db, "--templates", "simple", "--not", "rocket", "--format", "jsonl", "cat"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let classifier = try ZeroShotClassifier(directory: fixtureModel(), options: .init(batchSize: 1, warn: { _ in }))
        let templates = try XCTUnwrap(PromptSets.builtInTemplates("simple"))
        let positive = try classifier.classEmbeddings(classNames: ["cat"], templates: templates)
        let negative = try classifier.classEmbeddings(classNames: ["rocket"], templates: templates)
        XCTAssertNotEqual(positive[0], try classifier.textEmbeddings(["cat"])[0])
        let query = try XCTUnwrap(ImageIndex.combinedQuery(positive: positive, negative: negative))
        let paths = r.stdout.split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["path"] as? String
        }
        XCTAssertEqual(paths, try index.search(query: query, topK: 10).map(\.path))

        // One template or a set, not both; a file's bad template is named by file and line.
        let both = try zeroshot(["search", "--db", db, "--template", "a photo of {}.", "--templates", "simple", "cat"])
        XCTAssertEqual(both.status, 64, both.stderr)
        XCTAssertTrue(both.stderr.contains("--template") && both.stderr.contains("--templates"), both.stderr)
        let file = dir.appendingPathComponent("templates.txt")
        try Data("a photo of {}.\n{0} {1}\n".utf8).write(to: file)
        let bad = try zeroshot(["search", "--db", db, "--templates", file.path, "cat"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains(file.path + ":2:"), bad.stderr)
    }
}
