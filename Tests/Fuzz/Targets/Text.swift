#if DEBUG
import Foundation
import ZeroShot

extension FuzzTargets {
    static let text: [FuzzTarget] = [
        FuzzTarget("template", parses: "hypothesis templates (Python str.format grammar), with a label",
                   seeds: ["Tests/Fixtures/templates.json"], dictionary: "template.dict", maxLength: 4096) { data in
            // The first line is the label, the rest the template.
            let text = String(decoding: data, as: UTF8.self)
            let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let label = parts.count > 1 ? String(parts[0]) : "cat"
            let template = String(parts.last ?? "")
            _ = try? applyHypothesisTemplate(template, to: label)
        },
    ]
}
#endif
