/// WordPiece model, as `tokenizers`' `WordPiece`: a word is split greedily into the longest vocabulary entries from
/// the left, every piece after the first looked up with `continuingSubwordPrefix` (`##`); a word with a part that
/// matches nothing, or longer than `maxInputCharsPerWord` characters, becomes the single unknown token.
///
/// Vocabulary entries are compared byte for byte (UTF-8), as Rust compares strings: `é` (U+00E9) and `e` + U+0301
/// are different tokens.
public struct WordPieceModel: TokenizerModel {
    /// UTF-8 bytes of each vocabulary entry -> id.
    let vocab: [[UInt8]: Int32]
    public let unknownTokenId: Int32
    public let continuingSubwordPrefix: String
    public let maxInputCharsPerWord: Int
    let prefixBytes: [UInt8]
    /// Longest entry in bytes: longer candidates are not looked up.
    let longestEntry: Int

    /// - Parameters:
    ///   - vocab: token -> id; keys compared byte for byte.
    ///   - unknownToken: must be in `vocab` (`tokenizers` fails on the first unknown word otherwise).
    ///   - source: file named in errors.
    /// - Throws: `TokenizerError.missingVocabularyEntry` when the unknown token is not in `vocab`.
    public init(vocab: [(String, Int32)], unknownToken: String, continuingSubwordPrefix: String = "##",
                maxInputCharsPerWord: Int = 100, source: String) throws {
        var map: [[UInt8]: Int32] = [:]
        map.reserveCapacity(vocab.count)
        var longest = 0
        for (token, id) in vocab {
            let bytes = Array(token.utf8)
            map[bytes] = id
            longest = max(longest, bytes.count)
        }
        guard let unk = map[Array(unknownToken.utf8)] else {
            throw TokenizerError.missingVocabularyEntry(path: source, token: unknownToken, reason: "unk_token")
        }
        self.vocab = map
        unknownTokenId = unk
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        prefixBytes = Array(continuingSubwordPrefix.utf8)
        longestEntry = longest
    }

    /// The id of `token` (byte-exact), if it is in the vocabulary.
    public func id(of token: String) -> Int32? { vocab[Array(token.utf8)] }

    /// Number of vocabulary entries (distinct tokens).
    public var vocabularyCount: Int { vocab.count }

    public func tokenize(_ word: [Unicode.Scalar]) -> [Int32] {
        if word.isEmpty { return [] }
        if word.count > maxInputCharsPerWord { return [unknownTokenId] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(word.count * 3)
        var offsets: [Int] = [0]  // byte offset of each scalar boundary
        offsets.reserveCapacity(word.count + 1)
        for s in word {
            UTF8.encode(s) { bytes.append($0) }
            offsets.append(bytes.count)
        }
        var ids: [Int32] = []
        var key: [UInt8] = []
        key.reserveCapacity(bytes.count + prefixBytes.count)
        var start = 0
        while start < word.count {
            let prefixCount = start > 0 ? prefixBytes.count : 0
            var end = word.count
            while end > start, offsets[end] - offsets[start] + prefixCount > longestEntry { end -= 1 }
            var found: Int32? = nil
            while end > start {
                key.removeAll(keepingCapacity: true)
                if start > 0 { key.append(contentsOf: prefixBytes) }
                key.append(contentsOf: bytes[offsets[start]..<offsets[end]])
                if let id = vocab[key] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownTokenId] }
            ids.append(id)
            start = end
        }
        return ids
    }
}
