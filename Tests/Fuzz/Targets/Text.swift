#if DEBUG
import Foundation
@testable import ZeroShot

extension FuzzTargets {
    static let text: [FuzzTarget] = [
        FuzzTarget("template", parses: "hypothesis templates (Python str.format grammar), with a label",
                   seeds: ["Tests/Fuzz/Seeds/template/*"], dictionary: "template.dict", maxLength: 4096) { data in
            // The template, then the label after a file-separator line (any text, newlines included); without a
            // separator the label is "cat".
            LeakChecks.prepare()
            let hasLabel = data.range(of: FuzzTarget.fileSeparator) != nil
            let parts = data.fuzzFiles(2)
            let template = String(decoding: parts[0], as: UTF8.self)
            let label = hasLabel ? String(decoding: parts[1], as: UTF8.self) : "cat"
            guard let filled = try? applyHypothesisTemplate(template, to: label) else { return }
            let scalars = filled.unicodeScalars.count
            precondition(scalars <= TemplateFormatter.maxLength, "filled template over the length limit")
            // Literal text only: the template itself.
            if !template.unicodeScalars.contains(where: { $0 == "{" || $0 == "}" }) {
                precondition(filled == template, "a template without braces changed")
            }
            // What the classifier does next: the same template with another label must give a result too (the
            // label never makes a valid template invalid, except by indexing past its end or its length).
            if !template.unicodeScalars.contains("[") && label.unicodeScalars.count < 256
                && scalars + template.unicodeScalars.count <= TemplateFormatter.maxLength {
                precondition((try? applyHypothesisTemplate(template, to: label + "x")) != nil || hasNestedField(template),
                             "a longer label made the template invalid")
            }
        },
    ]

    /// Whether a replacement field holds another inside its format spec (`{0:>{0}}`, `{:{}^5}`): the label then
    /// becomes part of a spec, and another label may make it invalid.
    static func hasNestedField(_ template: String) -> Bool {
        let scalars = Array(template.unicodeScalars)
        var depth = 0
        var i = 0
        while i < scalars.count {
            let c = scalars[i], next = i + 1 < scalars.count ? scalars[i + 1] : nil
            if c == "{" {
                if depth == 0 && next == "{" { i += 2; continue }
                if depth >= 1 { return true }
                depth += 1
            } else if c == "}" {
                if depth == 0 && next == "}" { i += 2; continue }
                depth = max(0, depth - 1)
            }
            i += 1
        }
        return false
    }
}
#endif
