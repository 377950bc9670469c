import Foundation

/// Byte-pair-encoding model: a word's symbols are merged pairwise, lowest merge rank first (leftmost on ties),
/// as `tokenizers`' `BPE` model does without dropout. The last symbol of a word carries `endOfWordSuffix`
/// (CLIP: `</w>`); symbols absent from the vocabulary become their `<0xNN>` byte tokens (`byteFallback`, when all
/// exist) or the unknown token (one per symbol, or one per run with `fuseUnknown`). With `ignoreMerges`, a word
/// that is itself in the vocabulary is that token.
public struct BPEModel: Sendable {
    /// The vocabulary compared byte for byte, as `tokenizers` compares tokens.
    public let exactVocab: [ExactString: Int32]
    /// The vocabulary by Swift `String`, built on each access (canonically equivalent tokens share one entry);
    /// encoding uses `exactVocab`.
    public var vocab: [String: Int32] {
        Dictionary(exactVocab.map { ($0.key.string, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
    /// Merge `(left id, right id)` packed into 64 bits -> (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    public let unknownTokenId: Int32?
    public let endOfWordSuffix: String
    public let continuingSubwordPrefix: String
    public let fuseUnknown: Bool
    public let byteFallback: Bool
    public let ignoreMerges: Bool
    let cache = WordCache()

    /// - Parameters:
    ///   - merges: pairs in rank order.
    ///   - source: file named in errors.
    /// - Throws: `TokenizerError.missingVocabularyEntry` when a merge's parts or result are not in `vocab`.
    public init(vocab: [String: Int32], merges: [(String, String)], unknownToken: String?, endOfWordSuffix: String,
                continuingSubwordPrefix: String = "", fuseUnknown: Bool = false, byteFallback: Bool = false,
                ignoreMerges: Bool = false, source: String) throws {
        try self.init(entries: vocab.map { ($0.key, $0.value) }, merges: merges, unknownToken: unknownToken,
                      endOfWordSuffix: endOfWordSuffix, continuingSubwordPrefix: continuingSubwordPrefix,
                      fuseUnknown: fuseUnknown, byteFallback: byteFallback, ignoreMerges: ignoreMerges, source: source)
    }

    /// - Parameter entries: (token, id) pairs, tokens distinct byte for byte (see `CLIPTokenizer.parseVocabEntries`).
    public init(entries: [(String, Int32)], merges: [(String, String)], unknownToken: String?, endOfWordSuffix: String,
                continuingSubwordPrefix: String = "", fuseUnknown: Bool = false, byteFallback: Bool = false,
                ignoreMerges: Bool = false, source: String) throws {
        var exact: [ExactString: Int32] = [:]
        exact.reserveCapacity(entries.count)
        for (token, id) in entries { exact[ExactString(token)] = id }
        try self.init(exactVocab: exact, merges: merges, unknownToken: unknownToken, endOfWordSuffix: endOfWordSuffix,
                      continuingSubwordPrefix: continuingSubwordPrefix, fuseUnknown: fuseUnknown,
                      byteFallback: byteFallback, ignoreMerges: ignoreMerges, source: source)
    }

    /// - Parameter exactVocab: token -> id, tokens compared byte for byte.
    public init(exactVocab exact: [ExactString: Int32], merges: [(String, String)], unknownToken: String?,
                endOfWordSuffix: String, continuingSubwordPrefix: String = "", fuseUnknown: Bool = false,
                byteFallback: Bool = false, ignoreMerges: Bool = false, source: String) throws {
        exactVocab = exact
        func id(_ token: String) -> Int32? { exact[ExactString(token)] }
        var map: [UInt64: (rank: Int32, id: Int32)] = [:]
        map.reserveCapacity(merges.count)
        let prefixScalars = Array(continuingSubwordPrefix.unicodeScalars)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = id(a) else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: a, reason: "left part of merge \(rank + 1)")
            }
            guard let ib = id(b) else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: b, reason: "right part of merge \(rank + 1)")
            }
            // Scalar-wise, as tokenizers strips the prefix (Character-wise would join it with a combining mark).
            let merged = !prefixScalars.isEmpty && b.unicodeScalars.starts(with: prefixScalars)
                ? a + String(String.UnicodeScalarView(b.unicodeScalars.dropFirst(prefixScalars.count))) : a + b
            guard let im = id(merged) else {
                throw TokenizerError.missingVocabularyEntry(path: source, token: merged, reason: "result of merge \(rank + 1)")
            }
            let key = UInt64(UInt32(bitPattern: ia)) << 32 | UInt64(UInt32(bitPattern: ib))
            // A pair listed twice takes its last rank, as `tokenizers` builds its merge map (later entries replace
            // earlier ones).
            map[key] = (Int32(rank), im)
        }
        self.merges = map
        if let unknownToken, let id = id(unknownToken) {
            unknownTokenId = id
        } else {
            unknownTokenId = nil
        }
        self.endOfWordSuffix = endOfWordSuffix
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
    }

    /// Token ids of one pre-tokenized word.
    public func tokenize(_ word: [Unicode.Scalar]) -> [Int32] {
        if word.isEmpty { return [] }
        var key = String.UnicodeScalarView()
        key.append(contentsOf: word)
        let keyString = String(key)
        if let hit = cache.get(ExactString(keyString)) { return hit }
        if ignoreMerges, let id = exactVocab[ExactString(keyString)] { return [id] }
        let ids = merge(word)
        cache.set(ExactString(keyString), ids)
        return ids
    }

    /// The ids of a word's single-character symbols before any merge (suffix on the last one, prefix on all but
    /// the first), as `tokenizers`' `merge_word`: a symbol missing from the vocabulary becomes its byte tokens
    /// (`byteFallback`) or a pending unknown token, written out before the next symbol found in the vocabulary (or
    /// at the end) and fused with the following unknown symbols when `fuseUnknown`.
    func initialSymbols(_ word: [Unicode.Scalar]) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        var pendingUnknown = false
        for (i, s) in word.enumerated() {
            var text = String(s)
            if i > 0 && !continuingSubwordPrefix.isEmpty { text = continuingSubwordPrefix + text }
            if i == word.count - 1 { text += endOfWordSuffix }
            if let id = exactVocab[ExactString(text)] {
                if pendingUnknown, let unk = unknownTokenId { ids.append(unk) }
                pendingUnknown = false
                ids.append(id)
                continue
            }
            if byteFallback {
                let bytes = text.utf8.map { exactVocab[ExactString(BPEModel.byteToken($0))] }
                if bytes.allSatisfy({ $0 != nil }) {
                    ids += bytes.map { $0! }
                    continue
                }
            }
            if let unk = unknownTokenId {
                if pendingUnknown && !fuseUnknown { ids.append(unk) }
                pendingUnknown = true
            }
        }
        if pendingUnknown, let unk = unknownTokenId { ids.append(unk) }
        return ids
    }

    /// `<0xNN>`: the byte-fallback token of one byte.
    static func byteToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// The merged ids of one word.
    func merge(_ word: [Unicode.Scalar]) -> [Int32] {
        var ids = initialSymbols(word)
        let n = ids.count
        if n < 2 { return ids }

        // Symbols form a doubly linked list over `ids` (a merged symbol keeps the left position; the right one is
        // unlinked). Candidate merges wait in a min-heap ordered by (rank, position), as `tokenizers`' word
        // merging does: the lowest rank first, the leftmost on ties. Entries are never removed; an entry whose
        // pair has changed since it was pushed is recognised when popped (the pair at its position no longer
        // merges into the same id) and skipped. O(n log n) for a word of n symbols.
        var next = [Int](1...n)        // n: no next symbol
        var prev = [Int](-1..<(n - 1)) // -1: no previous symbol
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        heap.reserve(n)
        func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
            UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        }
        for i in 0..<(n - 1) {
            if let m = merges[pairKey(ids[i], ids[i + 1])] { heap.push(rank: m.rank, position: i, id: m.id) }
        }
        while let top = heap.pop() {
            let i = top.position
            guard alive[i] else { continue }
            let j = next[i]
            guard j < n, let m = merges[pairKey(ids[i], ids[j])], m.id == top.id else { continue }
            ids[i] = m.id
            alive[j] = false
            let after = next[j]
            next[i] = after
            if after < n { prev[after] = i }
            let before = prev[i]
            if before >= 0, let left = merges[pairKey(ids[before], ids[i])] {
                heap.push(rank: left.rank, position: before, id: left.id)
            }
            if after < n, let right = merges[pairKey(ids[i], ids[after])] {
                heap.push(rank: right.rank, position: i, id: right.id)
            }
        }
        var out: [Int32] = []
        var i = 0  // the first symbol is never merged away (merges keep the left position)
        while i < n {
            out.append(ids[i])
            i = next[i]
        }
        return out
    }
}

/// Binary min-heap of candidate merges ordered by (rank, position).
struct MergeHeap {
    struct Entry {
        var rank: Int32
        var id: Int32
        var position: Int
    }
    private var entries: [Entry] = []

    mutating func reserve(_ count: Int) { entries.reserveCapacity(count) }

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.position < b.position
    }

    mutating func push(rank: Int32, position: Int, id: Int32) {
        entries.append(Entry(rank: rank, id: id, position: position))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let last = entries.popLast() else { return nil }
        guard !entries.isEmpty else { return last }
        let top = entries[0]
        entries[0] = last
        var parent = 0
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let smaller = right < count && Self.less(entries[right], entries[left]) ? right : left
            guard Self.less(entries[smaller], entries[parent]) else { break }
            entries.swapAt(smaller, parent)
            parent = smaller
        }
        return top
    }
}

/// Bounded, thread-safe word -> ids cache shared by copies of a model.
final class WordCache: @unchecked Sendable {
    private var storage: [ExactString: [Int32]] = [:]
    private let lock = NSLock()
    private let capacity = 10_000

    func get(_ key: ExactString) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return storage[key]
    }

    func set(_ key: ExactString, _ value: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if storage.count >= capacity { storage.removeAll(keepingCapacity: true) }
        storage[key] = value
    }
}
