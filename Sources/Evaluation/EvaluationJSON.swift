// The JSON text of an evaluation (`zeroshot eval --format json`) and of its per-image predictions (`--predictions`).
import Foundation
import ZeroShot

extension EvaluationResult {
    /// `{"n", "top1", "top5", "mean_per_class_recall", "classes": [names], "per_class": {name: {"n", "precision",
    /// "recall"}}, "confusion": [[int]]}`, then `"failed": [{"image", "error"}]` when any image failed. Keys in that
    /// order; `per_class` in class-index order; `confusion` rows are true classes, columns predicted (top-1) classes.
    public func json(failed: [EvalFailure] = []) -> String {
        var members: [(String, String)] = [
            ("n", "\(n)"), ("top1", JSONText.number(top1)), ("top5", JSONText.number(top5)),
            ("mean_per_class_recall", JSONText.number(meanPerClassRecall)),
            ("classes", JSONText.array(classes.map(JSONText.string))),
            ("per_class", "{" + zip(classes, perClass).map { name, m in
                JSONText.string(name) + ": " + JSONText.object([
                    ("n", "\(m.n)"), ("precision", JSONText.number(m.precision)), ("recall", JSONText.number(m.recall)),
                ])
            }.joined(separator: ", ") + "}"),
            ("confusion", "[" + confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }
                .joined(separator: ",\n  ") + "]"),
        ]
        if !failed.isEmpty {
            members.append(("failed", JSONText.array(failed.map {
                JSONText.object([("image", JSONText.string($0.image)), ("error", JSONText.string($0.error))])
            })))
        }
        return "{\n" + members.map { "  " + JSONText.string($0.0) + ": " + $0.1 }.joined(separator: ",\n") + "\n}\n"
    }
}

extension EvalRecord {
    /// One `--predictions` line (with its newline): `{"image", "true_label", "top5": [{"label", "score"}],
    /// "true_score", "correct"}`; labels are display names (`classes`), `correct` is top-1.
    public func predictionLine(classes: [String]) -> String {
        JSONText.object([
            ("image", JSONText.string(image)),
            ("true_label", JSONText.string(classes[trueClass])),
            ("top5", JSONText.array(zip(topClasses, topScores).map { k, s in
                JSONText.object([("label", JSONText.string(classes[k])), ("score", JSONText.number(s))])
            })),
            ("true_score", JSONText.number(trueScore)),
            ("correct", predictedClass == trueClass ? "true" : "false"),
        ]) + "\n"
    }
}
