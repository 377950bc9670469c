import Foundation

/// Byte-pair-encoding model: a word's symbols are merged pairwise, lowest merge rank first (leftmost on ties),
/// as `tokenizers`' `BPE` model does without dropout. The last symbol of a word carries `endOfWordSuffix`
/// (CLIP: `</w>`); symbols absent from the vocabulary become the unknown token (one per symbol, or one per run
/// with `fuseUnknown`).
public struct BPEModel: Sendable {
    public let vocab: [String: Int32]
    /// Merge `(left id, right id)` packed into 64 bits -> (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    public let unknownTokenId: Int32?
    public let endOfWordSuffix: String
    public let continuingSubwordPrefix: String
    public let fuseUnknown: Bool
    let cache = WordCache()

    /// - Parameters:
    ///   - merges: pairs in rank order.
    ///   - source: file named in errors.
    /// - Throws: `TokenizerError.missingVocabularyEntry` when a merge's parts or result are not in `vocab`.
    public init(vocab: [String: Int32], merges: [(String, String)], unknownToken: String?, endOfWordSuffix: String,
                continuingSubwordPrefix: String = "", fuseUnknown: Bool = false, source: String) throws {
        self.vocab = vocab
        var map: [UInt64: (rank: Int32, id: Int32)] = [:]
        map.reserveCapacity(merges.count)
        let prefixCount = continuingSubwordPrefix.count
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a] else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: a, reason: "left part of merge \(rank + 1)")
            }
            guard let ib = vocab[b] else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: b, reason: "right part of merge \(rank + 1)")
            }
            let merged = a + (prefixCount > 0 && b.hasPrefix(continuingSubwordPrefix) ? String(b.dropFirst(prefixCount)) : b)
            guard let im = vocab[merged] else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: merged, reason: "result of merge \(rank + 1)")
            }
            let key = UInt64(UInt32(bitPattern: ia)) << 32 | UInt64(UInt32(bitPattern: ib))
            if map[key] == nil { map[key] = (Int32(rank), im) }
        }
        self.merges = map
        if let unknownToken, let id = vocab[unknownToken] {
            unknownTokenId = id
        } else {
            unknownTokenId = nil
        }
        self.endOfWordSuffix = endOfWordSuffix
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.fuseUnknown = fuseUnknown
    }

    /// Token ids of one pre-tokenized word.
    public func tokenize(_ word: [Unicode.Scalar]) -> [Int32] {
        if word.isEmpty { return [] }
        var key = String.UnicodeScalarView()
        key.append(contentsOf: word)
        let keyString = String(key)
        if let hit = cache.get(keyString) { return hit }
        let ids = merge(word)
        cache.set(keyString, ids)
        return ids
    }

    func merge(_ word: [Unicode.Scalar]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var previousUnknown = false
        for (i, s) in word.enumerated() {
            var text = String(s)
            if i > 0 && !continuingSubwordPrefix.isEmpty { text = continuingSubwordPrefix + text }
            if i == word.count - 1 { text += endOfWordSuffix }
            if let id = vocab[text] {
                symbols.append(id)
                previousUnknown = false
            } else if let unk = unknownTokenId {
                if !(fuseUnknown && previousUnknown) { symbols.append(unk) }
                previousUnknown = true
            }
        }
        while symbols.count > 1 {
            var best: (rank: Int32, index: Int, id: Int32)? = nil
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))
                if let m = merges[key], best == nil || m.rank < best!.rank {
                    best = (m.rank, i, m.id)
                }
            }
            guard let b = best else { break }
            // One merge at a time: a new pair may outrank the remaining occurrences of this one.
            symbols[b.index] = b.id
            symbols.remove(at: b.index + 1)
        }
        return symbols
    }
}

/// Bounded, thread-safe word -> ids cache shared by copies of a model.
final class WordCache: @unchecked Sendable {
    private var storage: [String: [Int32]] = [:]
    private let lock = NSLock()
    private let capacity = 10_000

    func get(_ key: String) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return storage[key]
    }

    func set(_ key: String, _ value: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if storage.count >= capacity { storage.removeAll(keepingCapacity: true) }
        storage[key] = value
    }
}
