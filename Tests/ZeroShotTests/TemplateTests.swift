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
