import Foundation
import XCTest
@testable import ZeroShot

/// `applyHypothesisTemplate` against Python's `template.format(label)` on every template x label of
/// Tests/Fixtures/templates.json (Tools/reference/template_fixtures.py).
final class TemplateParityTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            let template: String
            let results: [String?]
            let errors: [String?]
        }
        let labels: [String]
        let cases: [Case]
    }

    func testEveryTemplateAndLabelMatchesPython() throws {
        let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("templates.json"))
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        XCTAssertGreaterThanOrEqual(golden.cases.count, 60)
        XCTAssertGreaterThanOrEqual(golden.labels.count, 10)
        var results = 0, errors = 0
        for c in golden.cases {
            XCTAssertEqual(c.results.count, golden.labels.count, c.template)
            for (label, expected) in zip(golden.labels, c.results) {
                let context = "template \(c.template.debugDescription), label \(label.debugDescription)"
                if let expected {
                    do {
                        let got = try applyHypothesisTemplate(c.template, to: label)
                        XCTAssertEqual(got, expected, context)
                    } catch {
                        XCTFail("\(context): threw \(error), Python gives \(expected.debugDescription)")
                    }
                    results += 1
                } else {
                    XCTAssertThrowsError(try applyHypothesisTemplate(c.template, to: label), context) { error in
                        guard case let ZeroShotError.invalidTemplate(template, reason) = error else {
                            return XCTFail("\(context): \(error)")
                        }
                        XCTAssertEqual(template, c.template)
                        XCTAssertFalse(reason.isEmpty)
                        XCTAssertTrue("\(error)".contains(c.template), "\(error)")
                    }
                    errors += 1
                }
            }
        }
        XCTAssertGreaterThan(results, 500)
        XCTAssertGreaterThan(errors, 500)
    }

    func testTemplateWithoutFieldGivesTheSameTextForEveryLabel() throws {
        for label in ["cat", "dog", "{}"] {
            XCTAssertEqual(try applyHypothesisTemplate("a photo", to: label), "a photo")
        }
    }

    func testReprMatchesPython() {
        func repr(_ s: String) -> String {
            String(String.UnicodeScalarView(TemplateFormatter.repr(Array(s.unicodeScalars))))
        }
        XCTAssertEqual(repr("cat"), "'cat'")
        XCTAssertEqual(repr("it's"), "\"it's\"")
        XCTAssertEqual(repr("'\""), "'\\'\"'")
        XCTAssertEqual(repr("a\\b\u{7}\u{1F431}\u{200B}"), "'a\\\\b\\x07\u{1F431}\\u200b'")
    }
}

/// The filled template is bounded before it is built: field widths and the filled text at most 1,048,576 characters
/// (Python would build any size; a few kilobytes of template could otherwise ask for gigabytes).
final class TemplateLimitTests: XCTestCase {
    private func reason(_ template: String, _ label: String) -> String? {
        do {
            _ = try applyHypothesisTemplate(template, to: label)
            return nil
        } catch ZeroShotError.invalidTemplate(_, let reason) {
            return reason
        } catch {
            return "\(error)"
        }
    }

    func testWidthsUpToTheLimitAreFilled() throws {
        XCTAssertEqual(try applyHypothesisTemplate("{:>1048576}", to: "fox").unicodeScalars.count, 1 << 20)
        XCTAssertEqual(reason("{:>1048577}", "fox"), "width 1048577 in format spec '>1048577' is over 1048576 characters")
    }

    func testFilledTextOverTheLimitIsRefused() throws {
        // Exactly the limit: 1,048,576 scalars from a label of 1,024 repeated 1,024 times.
        let label = String(repeating: "é", count: 1024)
        let fits = String(repeating: "{0}", count: 1024)
        XCTAssertEqual(try applyHypothesisTemplate(fits, to: label).unicodeScalars.count, 1 << 20)
        XCTAssertEqual(reason(fits + "x", label), "the filled template is over 1048576 characters long")
        // Many wide fields: each is allowed alone, together over the limit.
        XCTAssertEqual(reason(String(repeating: "{0:1000000}", count: 3), "fox"),
                       "the filled template is over 1048576 characters long")
    }
}
