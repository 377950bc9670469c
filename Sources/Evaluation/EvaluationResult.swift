// What an evaluation produces: per-image records and the metrics computed from them.
import Foundation

/// One evaluated image: its true class, its top-k classes and their scores.
public struct EvalRecord: Sendable, Equatable {
    /// The image as the dataset names it (path as written in the manifest, or relative to the ImageFolder root).
    public let image: String
    /// Where the file is (absolute or as resolved against the dataset), for reading it again (thumbnails).
    public let location: String
    /// Index of the true class in `EvaluationResult.classes`.
    public let trueClass: Int
    /// Up to 5 class indices, best first (ties: the lower class index first).
    public let topClasses: [Int]
    /// The pipeline's scores of `topClasses` (softmax over all classes, or SigLIP's sigmoid), same order.
    public let topScores: [Float]
    /// The score of the true class.
    public let trueScore: Float

    public init(image: String, location: String, trueClass: Int, topClasses: [Int], topScores: [Float],
                trueScore: Float) {
        self.image = image
        self.location = location
        self.trueClass = trueClass
        self.topClasses = topClasses
        self.topScores = topScores
        self.trueScore = trueScore
    }

    /// The top-1 class index.
    public var predictedClass: Int { topClasses[0] }
}

/// Precision and recall of one class (as scikit-learn's `precision_recall_fscore_support` with
/// `zero_division=0`: 0 where the denominator is 0).
public struct ClassMetrics: Sendable, Equatable, Codable {
    /// Images whose true class is this one.
    public let n: Int
    /// Of the images predicted (top-1) as this class, the fraction that are.
    public let precision: Double
    /// Of the images of this class, the fraction predicted (top-1) as it.
    public let recall: Double

    public init(n: Int, precision: Double, recall: Double) {
        self.n = n
        self.precision = precision
        self.recall = recall
    }
}

/// The metrics of one evaluation, as `zeroshot eval --format json` writes them.
public struct EvaluationResult: Sendable, Equatable {
    /// Images evaluated (unreadable ones are not counted).
    public let n: Int
    /// Fraction of images whose top-1 class is the true one.
    public let top1: Double
    /// Fraction of images whose true class is among the top 5 (top min(5, classes)).
    public let top5: Double
    /// Mean over the classes that have images of their recall (scikit-learn's `balanced_accuracy_score`, as
    /// clip_benchmark's `mean_per_class_recall`).
    public let meanPerClassRecall: Double
    /// Display names, in class-index order.
    public let classes: [String]
    /// Per class, in class-index order (JSON: an object keyed by display name).
    public let perClass: [ClassMetrics]
    /// `[classes][classes]` counts: rows the true class, columns the predicted (top-1) class.
    public let confusion: [[Int]]
    /// Every evaluated image, in dataset order.
    public let records: [EvalRecord]

    public init(n: Int, top1: Double, top5: Double, meanPerClassRecall: Double, classes: [String],
                perClass: [ClassMetrics], confusion: [[Int]], records: [EvalRecord]) {
        self.n = n
        self.top1 = top1
        self.top5 = top5
        self.meanPerClassRecall = meanPerClassRecall
        self.classes = classes
        self.perClass = perClass
        self.confusion = confusion
        self.records = records
    }

    /// Computes every metric from the records (top-1 from `topClasses[0]`, top-5 from `topClasses`).
    /// - Precondition: every class index is within `classes`.
    public init(classes: [String], records: [EvalRecord]) {
        let c = classes.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: c), count: c)
        var correct1 = 0, correct5 = 0
        for r in records {
            confusion[r.trueClass][r.predictedClass] += 1
            if r.predictedClass == r.trueClass { correct1 += 1 }
            if r.topClasses.prefix(5).contains(r.trueClass) { correct5 += 1 }
        }
        var perClass: [ClassMetrics] = []
        var recallSum = 0.0, present = 0
        for k in 0..<c {
            let n = confusion[k].reduce(0, +)
            let predicted = confusion.reduce(0) { $0 + $1[k] }
            let hits = confusion[k][k]
            let recall = n > 0 ? Double(hits) / Double(n) : 0
            perClass.append(ClassMetrics(n: n, precision: predicted > 0 ? Double(hits) / Double(predicted) : 0,
                                         recall: recall))
            if n > 0 { recallSum += recall; present += 1 }
        }
        let total = records.count
        self.init(n: total, top1: total > 0 ? Double(correct1) / Double(total) : 0,
                  top5: total > 0 ? Double(correct5) / Double(total) : 0,
                  meanPerClassRecall: present > 0 ? recallSum / Double(present) : 0,
                  classes: classes, perClass: perClass, confusion: confusion, records: records)
    }

    /// Off-diagonal confusion cells, most images first (ties: lower true class, then lower predicted class):
    /// (true class, predicted class, count).
    public func mostConfusedPairs(limit: Int) -> [(trueClass: Int, predictedClass: Int, count: Int)] {
        var pairs: [(trueClass: Int, predictedClass: Int, count: Int)] = []
        for (t, row) in confusion.enumerated() {
            for (p, count) in row.enumerated() where p != t && count > 0 { pairs.append((t, p, count)) }
        }
        pairs.sort { a, b in
            a.count != b.count ? a.count > b.count
                : a.trueClass != b.trueClass ? a.trueClass < b.trueClass : a.predictedClass < b.predictedClass
        }
        return Array(pairs.prefix(limit))
    }
}
