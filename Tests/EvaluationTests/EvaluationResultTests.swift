import XCTest
@testable import Evaluation

final class EvaluationResultTests: XCTestCase {
    private func record(_ t: Int, _ top: [Int]) -> EvalRecord {
        EvalRecord(image: "x", location: "x", trueClass: t, topClasses: top,
                   topScores: top.map { _ in 0.1 }, trueScore: 0.1)
    }

    /// Hand-computed: 3 classes, 5 images; scikit-learn gives precision [0.5, 1, 0], recall [0.5, 0.5, 0]
    /// (class 2 has no image and is left out of the balanced accuracy: (0.5 + 0.5) / 2).
    func testMetricsFromRecords() {
        let r = EvaluationResult(classes: ["a", "b", "c"], records: [
            record(0, [0, 1, 2]), record(0, [1, 0, 2]), record(1, [1, 2, 0]), record(1, [0, 2, 1]),
        ])
        XCTAssertEqual(r.n, 4)
        XCTAssertEqual(r.top1, 0.5)
        XCTAssertEqual(r.top5, 1.0)
        XCTAssertEqual(r.confusion, [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
        XCTAssertEqual(r.perClass.map(\.precision), [0.5, 0.5, 0])
        XCTAssertEqual(r.perClass.map(\.recall), [0.5, 0.5, 0])
        XCTAssertEqual(r.perClass.map(\.n), [2, 2, 0])
        XCTAssertEqual(r.meanPerClassRecall, 0.5)
        XCTAssertEqual(r.mostConfusedPairs(limit: 5).map { [$0.trueClass, $0.predictedClass, $0.count] },
                       [[0, 1, 1], [1, 0, 1]])
    }

    func testTop5CountsOnlyTheFirstFive() {
        let r = EvaluationResult(classes: (0..<7).map(String.init), records: [record(6, [0, 1, 2, 3, 4, 6])])
        XCTAssertEqual(r.top5, 0)
        XCTAssertEqual(r.top1, 0)
    }
}
