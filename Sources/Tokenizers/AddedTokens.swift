/// A token matched in the text before the model runs, as in `added_tokens` of `tokenizer.json`.
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    /// Matched only when not inside a word (neighbours are not alphanumeric or `_`).
    public var singleWord: Bool
    /// Absorbs the whitespace on its left / right.
    public var lstrip: Bool
    public var rstrip: Bool
    /// `true`: matched in the normalized text; `false`: matched in the raw text before normalization.
    public var normalized: Bool
    public var special: Bool

    public init(content: String, id: Int32, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool, special: Bool) {
        self.content = content
        self.id = id
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }
}

/// Finds added tokens in text: leftmost match first, the longest one at that position.
struct AddedTokenMatcher: Sendable {
    struct Entry: Sendable {
        let scalars: [Unicode.Scalar]
        let token: AddedToken
    }

    private let byFirstScalar: [UInt32: [Entry]]
    var isEmpty: Bool { byFirstScalar.isEmpty }

    /// - Parameter patterns: (text to look for, token).
    init(_ patterns: [(String, AddedToken)]) {
        var table: [UInt32: [Entry]] = [:]
        for (text, token) in patterns {
            let scalars = Array(text.unicodeScalars)
            guard let first = scalars.first else { continue }
            table[first.value, default: []].append(Entry(scalars: scalars, token: token))
        }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirstScalar = table
    }

    enum Piece {
        case text(ArraySlice<Unicode.Scalar>)
        case token(Int32)
    }

    /// Splits `s` into plain text and matched tokens, in order. Plain pieces may be empty-free; tokens absorb
    /// surrounding whitespace per their `lstrip` / `rstrip` flags.
    func split(_ s: [Unicode.Scalar]) -> [Piece] {
        if isEmpty { return [.text(s[...])] }
        var pieces: [Piece] = []
        var textStart = 0
        var pos = 0
        while pos < s.count {
            guard let candidates = byFirstScalar[s[pos].value],
                  let entry = candidates.first(where: { e in
                      pos + e.scalars.count <= s.count && s[pos..<(pos + e.scalars.count)].elementsEqual(e.scalars)
                  })
            else {
                pos += 1
                continue
            }
            var start = pos
            var stop = pos + entry.scalars.count
            let token = entry.token
            if token.singleWord {
                let leftOK = start == 0 || !AddedTokenMatcher.isWordScalar(s[start - 1])
                let rightOK = stop == s.count || !AddedTokenMatcher.isWordScalar(s[stop])
                if !(leftOK && rightOK) {
                    pos += 1
                    continue
                }
            }
            if token.lstrip {
                while start > textStart, s[start - 1].properties.isWhitespace { start -= 1 }
            }
            if token.rstrip {
                while stop < s.count, s[stop].properties.isWhitespace { stop += 1 }
            }
            if textStart < start { pieces.append(.text(s[textStart..<start])) }
            pieces.append(.token(token.id))
            textStart = stop
            pos = stop
        }
        if textStart < s.count { pieces.append(.text(s[textStart..<s.count])) }
        return pieces
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
    }
}
