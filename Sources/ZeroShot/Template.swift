/// Fills a hypothesis template with a candidate label exactly as Python's `template.format(label)` does, which is
/// what the `zero-shot-image-classification` pipeline calls (the label is the one positional argument; there are
/// no keyword arguments). Follows CPython 3.11's format-string grammar (`Objects/stringlib/unicode_format.h`) and
/// `str.__format__` (`Python/formatter_unicode.c`):
///
/// - literal text, with `{{` and `}}` for literal braces; a single `{` or `}` is an error;
/// - replacement fields `{[field_name][!conversion][:format_spec]}`: an empty field name takes the next
///   positional argument (automatic numbering), a decimal number (any Unicode decimal digits) names one (manual
///   numbering); mixing the two is an error, and only argument 0 exists. A non-numeric name is a keyword
///   argument and is an error. The name may be followed by `[n]` items, each taking the character at index `n`
///   (counted in Unicode scalars, as Python counts code points);
/// - conversions `!s` (the label), `!r` (Python's `repr` of a `str`: quotes chosen as Python does, `\\`,
///   quote, `\t` `\n` `\r` and non-printable characters escaped) and `!a` (`ascii`: the `repr` with every
///   non-ASCII character escaped as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`);
/// - the string format spec `[[fill]align][sign][z][#][0][width][,|_][.precision][type]`, as `str.__format__`
///   applies it: alignment `<` (default), `>`, `^` with any fill character, `0` before the width as fill `0`,
///   precision truncating to that many characters, type `s` or none. What `str` rejects is an error: `=`
///   alignment, a sign, `z`, `#`, `,` or `_`, any other type, a missing precision after `.`;
/// - replacement fields nested in a format spec are expanded first (one level, as Python), so `{:{}}` asks for a
///   second argument and is an error, while `{0:{0}}` uses the label as the spec.
///
/// A template without replacement fields is valid and gives the same text for every label.
///
/// Deviations: attribute access in a field name (`{0.upper}`) is an error here, while Python returns the text of
/// the attribute (for methods, a representation holding a memory address); widths over 1,048,576 characters
/// are an error, and so is a filled template over 1,048,576 characters (`TemplateFormatter.maxLength`: Python
/// would build it whatever its size); printable characters are judged by this Swift runtime's Unicode tables, which may be newer than
/// Python 3.11's (Unicode 14) for `!r` and `!a` of recently assigned characters.
///
/// - Throws: `ZeroShotError.invalidTemplate(template, reason:)` wherever Python raises (`ValueError`, `IndexError`,
///   `KeyError`, `TypeError`, `AttributeError`), with the reason.
public func applyHypothesisTemplate(_ template: String, to label: String) throws -> String {
    var formatter = TemplateFormatter(argument: Array(label.unicodeScalars))
    do {
        let scalars = try formatter.build(Array(template.unicodeScalars), depth: 2)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    } catch let error as TemplateFormatter.Failure {
        throw ZeroShotError.invalidTemplate(template, reason: error.reason)
    }
}

/// Python's `str.format` with one positional `str` argument, on Unicode scalars (Python's code points).
struct TemplateFormatter {
    struct Failure: Error {
        let reason: String
    }

    private enum Numbering { case unset, automatic, manual }

    let argument: [Unicode.Scalar]
    private var numbering = Numbering.unset
    private var nextAutomatic = 0

    /// Largest width accepted (Python would build the padded string whatever its size).
    static let maxWidth = 1 << 20
    /// Longest filled template accepted, in Unicode scalars: many wide fields (`{:1000000}` repeated) or a long
    /// label repeated would otherwise build a text of gigabytes from a few kilobytes of template.
    static let maxLength = 1 << 20

    init(argument: [Unicode.Scalar]) {
        self.argument = argument
    }

    /// The formatted text of `s`; `depth` counts the nesting levels still allowed (2 at the top, as CPython).
    mutating func build(_ s: [Unicode.Scalar], depth: Int) throws -> [Unicode.Scalar] {
        guard depth > 0 else { throw Failure(reason: "replacement fields nested more than one level deep in a format spec") }
        var out: [Unicode.Scalar] = []
        let n = s.count
        var i = 0
        while i < n {
            // Literal text up to the first brace.
            let start = i
            var brace: Unicode.Scalar? = nil
            while i < n {
                let c = s[i]
                i += 1
                if c == "{" || c == "}" { brace = c; break }
            }
            let atEnd = i >= n
            var length = i - start
            var field = brace != nil
            if brace == "}" && (atEnd || s[i] != "}") {
                throw Failure(reason: "single '}' (write '}}' for a literal brace)")
            }
            if brace == "{" && atEnd {
                throw Failure(reason: "single '{' at the end (write '{{' for a literal brace)")
            }
            if let brace, !atEnd {
                if s[i] == brace {
                    i += 1  // doubled brace: one literal brace, no field
                    field = false
                } else {
                    length -= 1
                }
            }
            out.append(contentsOf: s[start..<(start + length)])
            guard field else { continue }

            // The replacement field: name, then '!' conversion and/or ':' spec, up to the matching '}'.
            let nameStart = i
            var last: Unicode.Scalar = "{"
            scan: while i < n {
                last = s[i]
                i += 1
                switch last {
                case "{":
                    throw Failure(reason: "unexpected '{' in a field name")
                case "[":
                    while i < n && s[i] != "]" { i += 1 }
                case "}", ":", "!":
                    break scan
                default:
                    continue
                }
            }
            let name = Array(s[nameStart..<max(nameStart, i - 1)])
            var conversion: Unicode.Scalar? = nil
            var spec: [Unicode.Scalar] = []
            var specNeedsExpanding = false
            if last == "!" || last == ":" {
                var specFollows = true
                if last == "!" {
                    guard i < n else { throw Failure(reason: "end of template while looking for a conversion after '!'") }
                    conversion = s[i]
                    i += 1
                    if i < n {
                        let c = s[i]
                        i += 1
                        if c == "}" {
                            specFollows = false
                        } else if c != ":" {
                            throw Failure(reason: "expected ':' or '}' after the conversion '!\(conversion!)'")
                        }
                    }
                }
                if specFollows {
                    let specStart = i
                    var depthCount = 1
                    var closed = false
                    while i < n {
                        let c = s[i]
                        i += 1
                        if c == "{" {
                            specNeedsExpanding = true
                            depthCount += 1
                        } else if c == "}" {
                            depthCount -= 1
                            if depthCount == 0 { closed = true; break }
                        }
                    }
                    guard closed else { throw Failure(reason: "unmatched '{' in a format spec") }
                    spec = Array(s[specStart..<(i - 1)])
                }
            } else if last != "}" {
                throw Failure(reason: "expected '}' before the end of the template")
            }

            var value = try fieldValue(name)
            if let conversion {
                switch conversion {
                case "s": break
                case "r": value = Self.repr(value)
                case "a": value = Self.ascii(Self.repr(value))
                default: throw Failure(reason: "unknown conversion '!\(conversion)' (use !s, !r or !a)")
                }
            }
            if specNeedsExpanding { spec = try build(spec, depth: depth - 1) }
            out.append(contentsOf: try Self.formatString(value, spec: spec))
            try Self.checkLength(out.count)
        }
        try Self.checkLength(out.count)
        return out
    }

    static func checkLength(_ count: Int) throws {
        guard count <= maxLength else {
            throw Failure(reason: "the filled template is over \(maxLength) characters long")
        }
    }

    /// The object a field name designates: the label (argument 0), then any `[n]` items.
    private mutating func fieldValue(_ name: [Unicode.Scalar]) throws -> [Unicode.Scalar] {
        var k = 0
        while k < name.count && name[k] != "." && name[k] != "[" { k += 1 }
        let first = Array(name[0..<k])
        let number = try Self.decimal(first)
        let isEmpty = first.isEmpty
        guard isEmpty || number != nil else {
            throw Failure(reason: "replacement field '{\(String(String.UnicodeScalarView(name)))}' names a keyword "
                + "argument; the only argument is the label (use '{}')")
        }
        if numbering == .unset { numbering = isEmpty ? .automatic : .manual }
        if numbering == .manual && isEmpty {
            throw Failure(reason: "cannot switch from manual field numbering ('{0}') to automatic ('{}')")
        }
        if numbering == .automatic && !isEmpty {
            throw Failure(reason: "cannot switch from automatic field numbering ('{}') to manual ('{0}')")
        }
        let index: Int
        if isEmpty {
            index = nextAutomatic
            nextAutomatic += 1
        } else {
            index = number ?? 0
        }
        guard index == 0 else {
            throw Failure(reason: "replacement index \(index) out of range: the label is the only argument")
        }
        var value = argument
        var p = k
        while p < name.count {
            let c = name[p]
            p += 1
            if c == "." {
                let start = p
                while p < name.count && name[p] != "." && name[p] != "[" { p += 1 }
                guard p > start else { throw Failure(reason: "empty attribute name in a replacement field") }
                throw Failure(reason: "attribute access ('.\(String(String.UnicodeScalarView(name[start..<p])))') "
                    + "in a replacement field is not supported")
            } else if c == "[" {
                let start = p
                while p < name.count && name[p] != "]" { p += 1 }
                guard p < name.count else { throw Failure(reason: "missing ']' in a replacement field") }
                let item = Array(name[start..<p])
                p += 1
                guard !item.isEmpty else { throw Failure(reason: "empty index '[]' in a replacement field") }
                guard let position = try Self.decimal(item) else {
                    throw Failure(reason: "string indices must be integers, not '[\(String(String.UnicodeScalarView(item)))]'")
                }
                guard position < value.count else {
                    throw Failure(reason: "string index \(position) out of range for a label of \(value.count) characters")
                }
                value = [value[position]]
            } else {
                throw Failure(reason: "only '.' or '[' may follow ']' in a replacement field")
            }
        }
        return value
    }

    /// The value of a run of Unicode decimal digits (Python's `Py_UNICODE_TODECIMAL`), `nil` when empty or when any
    /// scalar is not a decimal digit. Throws past `Int.max` ("Too many decimal digits").
    static func decimal(_ digits: ArraySlice<Unicode.Scalar>) throws -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for d in digits {
            guard let v = digitValue(d) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(v)
            guard !o1 && !o2 else { throw Failure(reason: "too many decimal digits in a number") }
            value = a
        }
        return value
    }

    static func decimal(_ digits: [Unicode.Scalar]) throws -> Int? { try decimal(digits[...]) }

    static func digitValue(_ s: Unicode.Scalar) -> Int? {
        guard s.properties.numericType == .decimal, let v = s.properties.numericValue, v >= 0, v <= 9 else { return nil }
        return Int(v)
    }

    /// `format(value, spec)` for a Python `str`.
    static func formatString(_ value: [Unicode.Scalar], spec: [Unicode.Scalar]) throws -> [Unicode.Scalar] {
        if spec.isEmpty { return value }
        let specText = String(String.UnicodeScalarView(spec))
        let n = spec.count
        var p = 0
        var fill: Unicode.Scalar = " "
        var align: Unicode.Scalar = "<"
        var fillGiven = false
        func isAlign(_ c: Unicode.Scalar) -> Bool { c == "<" || c == ">" || c == "=" || c == "^" }
        if n - p >= 2 && isAlign(spec[p + 1]) {
            fill = spec[p]; align = spec[p + 1]; fillGiven = true; p += 2
        } else if n - p >= 1 && isAlign(spec[p]) {
            align = spec[p]; p += 1
        }
        var sign: Unicode.Scalar? = nil
        if p < n && (spec[p] == " " || spec[p] == "+" || spec[p] == "-") { sign = spec[p]; p += 1 }
        var noNegativeZero = false
        if p < n && spec[p] == "z" { noNegativeZero = true; p += 1 }
        var alternate = false
        if p < n && spec[p] == "#" { alternate = true; p += 1 }
        if !fillGiven && p < n && spec[p] == "0" { fill = "0"; p += 1 }  // strings keep their alignment
        var q = p
        while q < n && digitValue(spec[q]) != nil { q += 1 }
        let width = try decimal(spec[p..<q]) ?? -1
        p = q
        var separator: Unicode.Scalar? = nil
        if p < n && spec[p] == "," { separator = ","; p += 1 }
        if p < n && spec[p] == "_" {
            if separator != nil { throw Failure(reason: "cannot specify both ',' and '_' (format spec '\(specText)')") }
            separator = "_"; p += 1
        }
        if p < n && spec[p] == "," { throw Failure(reason: "cannot specify both ',' and '_' (format spec '\(specText)')") }
        var precision = -1
        if p < n && spec[p] == "." {
            p += 1
            q = p
            while q < n && digitValue(spec[q]) != nil { q += 1 }
            guard let v = try decimal(spec[p..<q]) else {
                throw Failure(reason: "format spec '\(specText)' is missing the precision after '.'")
            }
            precision = v
            p = q
        }
        if n - p > 1 { throw Failure(reason: "invalid format spec '\(specText)' for a string") }
        let type: Unicode.Scalar = n - p == 1 ? spec[p] : "s"
        if let separator, !"defgEG%F".unicodeScalars.contains(type) {
            throw Failure(reason: "cannot specify '\(separator)' with '\(type)' (format spec '\(specText)')")
        }
        guard type == "s" else {
            throw Failure(reason: "unknown format code '\(type)' for a string (format spec '\(specText)'; only 's')")
        }
        if let sign {
            throw Failure(reason: "\(sign == " " ? "space" : "sign '\(sign)'") not allowed in a string format spec '\(specText)'")
        }
        if noNegativeZero { throw Failure(reason: "'z' not allowed in a string format spec '\(specText)'") }
        if alternate { throw Failure(reason: "alternate form '#' not allowed in a string format spec '\(specText)'") }
        if align == "=" { throw Failure(reason: "'=' alignment not allowed in a string format spec '\(specText)'") }
        guard width <= maxWidth else {
            throw Failure(reason: "width \(width) in format spec '\(specText)' is over \(maxWidth) characters")
        }
        var content = value
        if precision >= 0 && content.count > precision { content = Array(content.prefix(precision)) }
        let total = max(width, content.count)
        let left: Int
        switch align {
        case ">": left = total - content.count
        case "^": left = (total - content.count) / 2
        default: left = 0
        }
        let right = total - content.count - left
        return [Unicode.Scalar](repeating: fill, count: left) + content + [Unicode.Scalar](repeating: fill, count: right)
    }

    /// Python's `repr(str)`.
    static func repr(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out: [Unicode.Scalar] = [quote]
        for c in s {
            switch c {
            case quote, "\\":
                out.append("\\"); out.append(c)
            case "\t":
                out.append(contentsOf: "\\t".unicodeScalars)
            case "\n":
                out.append(contentsOf: "\\n".unicodeScalars)
            case "\r":
                out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out.append(contentsOf: escape(c))
                } else if c.value < 0x7F || isPrintable(c) {
                    out.append(c)
                } else {
                    out.append(contentsOf: escape(c))
                }
            }
        }
        out.append(quote)
        return out
    }

    /// Python's `ascii()` applied to a `repr`: every non-ASCII scalar escaped.
    static func ascii(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        for c in s {
            if c.value < 0x80 { out.append(c) } else { out.append(contentsOf: escape(c)) }
        }
        return out
    }

    /// `\xhh`, `\uhhhh` or `\Uhhhhhhhh` (lowercase hex), as Python escapes a code point.
    static func escape(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
        let (prefix, digits) = c.value <= 0xFF ? ("\\x", 2) : c.value <= 0xFFFF ? ("\\u", 4) : ("\\U", 8)
        let hex = String(c.value, radix: 16)
        return Array((prefix + String(repeating: "0", count: max(0, digits - hex.count)) + hex).unicodeScalars)
    }

    /// Python's `str.isprintable` for one character: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (the ASCII
    /// space is handled by the caller).
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
             .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
