// The JSON text of an evaluation (`zeroshot eval --format json`) and of its per-image predictions (`--predictions`).
import Foundation

extension EvaluationResult {
    /// `{"n", "top1", "top5", "mean_per_class_recall", "classes": [names], "per_class": {name: {"n", "precision",
    /// "recall"}}, "confusion": [[int]]}`, then `"failed": [{"image", "error"}]` when any image failed. Keys in that
    /// order; `per_class` in class-index order; `confusion` rows are true classes, columns predicted (top-1) classes.
    public func json(failed: [EvalFailure] = []) -> String {
        var members: [(String, String)] = [
            ("n", "\(n)"), ("top1", EvalJSON.number(top1)), ("top5", EvalJSON.number(top5)),
            ("mean_per_class_recall", EvalJSON.number(meanPerClassRecall)),
            ("classes", EvalJSON.array(classes.map(EvalJSON.string))),
            ("per_class", "{" + zip(classes, perClass).map { name, m in
                EvalJSON.string(name) + ": " + EvalJSON.object([
                    ("n", "\(m.n)"), ("precision", EvalJSON.number(m.precision)), ("recall", EvalJSON.number(m.recall)),
                ])
            }.joined(separator: ", ") + "}"),
            ("confusion", "[" + confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }
                .joined(separator: ",\n  ") + "]"),
        ]
        if !failed.isEmpty {
            members.append(("failed", EvalJSON.array(failed.map {
                EvalJSON.object([("image", EvalJSON.string($0.image)), ("error", EvalJSON.string($0.error))])
            })))
        }
        return "{\n" + members.map { "  " + EvalJSON.string($0.0) + ": " + $0.1 }.joined(separator: ",\n") + "\n}\n"
    }
}

extension EvalRecord {
    /// One `--predictions` line (with its newline): `{"image", "true_label", "top5": [{"label", "score"}],
    /// "true_score", "correct"}`; labels are display names (`classes`), `correct` is top-1.
    public func predictionLine(classes: [String]) -> String {
        EvalJSON.object([
            ("image", EvalJSON.string(image)),
            ("true_label", EvalJSON.string(classes[trueClass])),
            ("top5", EvalJSON.array(zip(topClasses, topScores).map { k, s in
                EvalJSON.object([("label", EvalJSON.string(classes[k])), ("score", EvalJSON.number(s))])
            })),
            ("true_score", EvalJSON.number(trueScore)),
            ("correct", predictedClass == trueClass ? "true" : "false"),
        ]) + "\n"
    }
}

/// JSON text of values (strings escaped as RFC 8259 requires; NaN and infinities, which JSON cannot carry, as null).
enum EvalJSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
    static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    static func array(_ values: [String]) -> String {
        "[" + values.joined(separator: ", ") + "]"
    }
}
