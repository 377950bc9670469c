/// Fills a hypothesis template with a candidate label the way Python's `str.format(label)` does, which is what the
/// `zero-shot-image-classification` pipeline calls: every `{}` or `{0}` becomes the label, `{{` and `}}` become
/// literal braces.
///
/// - Throws: `ZeroShotError.invalidTemplate` for any other replacement field (such as `{name}`) or an unmatched brace,
///   where Python raises too.
public func applyHypothesisTemplate(_ template: String, to label: String) throws -> String {
    var out = ""
    var index = template.startIndex
    while index < template.endIndex {
        let ch = template[index]
        let next = template.index(after: index)
        if ch == "{" {
            if next < template.endIndex, template[next] == "{" {
                out.append("{"); index = template.index(after: next); continue
            }
            guard let close = template[next...].firstIndex(of: "}") else {
                throw ZeroShotError.invalidTemplate(template, reason: "single '{' without a matching '}'")
            }
            let field = template[next..<close]
            guard field.isEmpty || field == "0" else {
                throw ZeroShotError.invalidTemplate(template, reason: "replacement field '{\(field)}' (use '{}' for the label)")
            }
            out.append(label)
            index = template.index(after: close)
        } else if ch == "}" {
            guard next < template.endIndex, template[next] == "}" else {
                throw ZeroShotError.invalidTemplate(template, reason: "single '}' (write '}}' for a literal brace)")
            }
            out.append("}"); index = template.index(after: next)
        } else {
            out.append(ch); index = next
        }
    }
    return out
}
