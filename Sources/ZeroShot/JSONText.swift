// JSON text of values, for outputs written as they are produced (a streamed array, JSON Lines).
import Foundation

/// JSON text (RFC 8259) of strings, numbers, objects and arrays whose members are already JSON text. Used by the
/// command line and the evaluation outputs, which write records one at a time rather than encoding a whole value.
public enum JSONText {
    /// A JSON string: `"` and `\` escaped, line breaks and tab as `\n`, `\r`, `\t`, other control characters as
    /// `\u00XX`; everything else as is (UTF-8).
    public static func string(_ s: String) -> String {
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

    /// Shortest text that reads back as the same Float; `null` for NaN and infinities, which JSON cannot carry.
    public static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }

    /// Shortest text that reads back as the same Double; `null` for NaN and infinities.
    public static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    /// `{"key": value, ...}` in the order given; values are JSON text.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// `[value, ...]`; values are JSON text.
    public static func array(_ values: [String]) -> String {
        "[" + values.joined(separator: ", ") + "]"
    }
}
