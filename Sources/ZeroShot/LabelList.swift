import Foundation

/// Candidate labels written as one comma-separated list ("cat, dog,bird"), as `zeroshot classify --labels` and the
/// server's `candidate_labels` string take them.
public enum LabelList {
    /// What separates the labels: the comma, the full-width comma "，" (U+FF0C) and the ideographic comma "、"
    /// (U+3001).
    public static let separators: Set<Character> = [",", "\u{FF0C}", "\u{3001}"]

    /// A separator that leaves an empty label (trailing, leading or doubled), or no label at all.
    public struct EmptyLabelError: Error, LocalizedError, Sendable, Equatable {
        /// Which, in words: "a trailing comma leaves label #3 empty; remove it", "no labels", ...
        public let reason: String
        public var errorDescription: String? { reason }
    }

    /// Splits `text` on `separators`, trimming spaces (Unicode space separators and tabs) around each label.
    ///
    /// - Throws: `EmptyLabelError` when a label would be empty (an empty or whitespace-only label cannot be written
    ///   in a list; the caller's other way of giving one label as is can).
    public static func split(_ text: String) throws(EmptyLabelError) -> [String] {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: separators.contains)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let empty = parts.firstIndex(where: \.isEmpty) else { return parts }
        let what: String
        if parts.count == 1 {
            what = "no labels"
        } else if empty == parts.count - 1 {
            what = "a trailing comma leaves label #\(empty + 1) empty; remove it"
        } else if empty == 0 {
            what = "a leading comma leaves label #1 empty; remove it"
        } else {
            what = "two commas in a row leave label #\(empty + 1) empty"
        }
        throw EmptyLabelError(reason: what)
    }
}
