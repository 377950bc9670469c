import Foundation

/// A byte trie over token strings for common-prefix search, stored compactly: each node's edges are a sorted,
/// contiguous run of (byte, child) pairs.
struct ByteTrie: Sendable {
    private var edgeStart: [Int32] = [0, 0]
    private var edgeLabel: [UInt8] = []
    private var edgeChild: [Int32] = []
    private var values: [Int32] = [-1]

    init() {}

    /// Builds the trie of `keys`; a key given twice keeps its later value.
    init(keys: [([UInt8], Int32)]) {
        var last: [[UInt8]: Int] = [:]
        for (i, k) in keys.enumerated() where !k.0.isEmpty { last[k.0] = i }
        let order = last.values.sorted { keys[$0].0.lexicographicallyPrecedes(keys[$1].0) }
        // A first-child / next-sibling trie built along the sorted keys (children arrive in byte order), then
        // laid out breadth-first.
        var firstChild: [Int32] = [-1], lastChild: [Int32] = [-1], nextSibling: [Int32] = [-1]
        var label: [UInt8] = [0], value: [Int32] = [-1]
        var path: [Int32] = [0]  // nodes of the previous key, root first
        var previous: [UInt8] = []
        for index in order {
            let key = keys[index].0
            var common = 0
            while common < key.count, common < previous.count, key[common] == previous[common] { common += 1 }
            path.removeLast(path.count - 1 - common)
            for b in key[common...] {
                let parent = Int(path[path.count - 1])
                let node = Int32(label.count)
                firstChild.append(-1); lastChild.append(-1); nextSibling.append(-1); label.append(b); value.append(-1)
                if lastChild[parent] >= 0 { nextSibling[Int(lastChild[parent])] = node } else { firstChild[parent] = node }
                lastChild[parent] = node
                path.append(node)
            }
            value[Int(path[path.count - 1])] = keys[index].1
            previous = key
        }
        // Breadth-first renumbering into contiguous edge runs.
        let n = label.count
        var newId = [Int32](repeating: -1, count: n)
        var queue: [Int32] = [0]
        newId[0] = 0
        var start = [Int32](repeating: 0, count: n + 1)
        var labels: [UInt8] = [], children: [Int32] = []
        labels.reserveCapacity(n)
        children.reserveCapacity(n)
        var vals = [Int32](repeating: -1, count: n)
        var head = 0
        while head < queue.count {
            let old = Int(queue[head])
            let id = head
            vals[id] = value[old]
            start[id] = Int32(labels.count)
            var c = firstChild[old]
            while c >= 0 {
                newId[Int(c)] = Int32(queue.count)
                labels.append(label[Int(c)])
                children.append(Int32(queue.count))
                queue.append(c)
                c = nextSibling[Int(c)]
            }
            head += 1
        }
        start[n] = Int32(labels.count)
        edgeStart = start
        edgeLabel = labels
        edgeChild = children
        values = vals
    }

    /// The child of `node` along byte `b`, or -1.
    @inline(__always)
    private func child(_ node: Int, _ b: UInt8) -> Int {
        var lo = Int(edgeStart[node]), hi = Int(edgeStart[node + 1])
        while lo < hi {
            let mid = (lo + hi) >> 1
            let l = edgeLabel[mid]
            if l == b { return Int(edgeChild[mid]) }
            if l < b { lo = mid + 1 } else { hi = mid }
        }
        return -1
    }

    /// Calls `body(length, value)` for every key that is a prefix of `bytes[start...]`, shortest first.
    func commonPrefixSearch(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (Int, Int32) -> Void) {
        var node = 0
        var i = start
        while i < bytes.count {
            node = child(node, bytes[i])
            if node < 0 { return }
            i += 1
            if values[node] >= 0 { body(i - start, values[node]) }
        }
    }
}

/// `tokenizers`' `Unigram` model: the Viterbi segmentation of a word over all vocabulary entries (scores as log
/// probabilities, `f64`), an unknown character costing the lowest score minus 10; consecutive unknown pieces are
/// fused into one; with `byteFallback`, a piece missing from the vocabulary becomes its `<0xNN>` byte tokens when
/// all exist, else the unknown token.
public struct UnigramModel: TokenizerModel {
    public let vocab: [(String, Double)]
    public let unknownTokenId: Int32?
    public let byteFallback: Bool
    let tokenToId: [ExactString: Int32]
    let trie: ByteTrie
    let minScore: Double

    public static let unknownPenalty = 10.0

    /// - Throws: `TokenizerError.invalidContent` naming `source` when the vocabulary is empty or `unknownTokenId`
    ///   is out of range.
    public init(vocab: [(String, Double)], unknownTokenId: Int32?, byteFallback: Bool, source: String) throws {
        if vocab.isEmpty { throw TokenizerError.invalidContent(path: source, reason: "empty Unigram vocabulary") }
        if let unk = unknownTokenId, unk < 0 || Int(unk) >= vocab.count {
            throw TokenizerError.invalidContent(
                path: source, reason: "Unigram unk_id \(unk) is outside the \(vocab.count)-entry vocabulary")
        }
        self.vocab = vocab
        self.unknownTokenId = unknownTokenId
        self.byteFallback = byteFallback
        var map: [ExactString: Int32] = [:]
        var keys: [([UInt8], Int32)] = []
        keys.reserveCapacity(vocab.count)
        var minScore = Double.infinity
        for (i, (token, score)) in vocab.enumerated() {
            map[ExactString(token)] = Int32(i)
            keys.append((Array(token.utf8), Int32(i)))
            if score < minScore { minScore = score }
        }
        tokenToId = map
        trie = ByteTrie(keys: keys)
        self.minScore = minScore
    }

    /// Token ids of one pre-tokenized word.
    public func tokenize(_ word: [Unicode.Scalar]) -> [Int32] {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: word)
        return tokenize(String(s))
    }

    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in encode(text) {
            if let id = tokenToId[ExactString(piece)] {
                ids.append(id)
                continue
            }
            if byteFallback {
                let bytes = piece.utf8.map { tokenToId[ExactString(BPEModel.byteToken($0))] }
                if bytes.allSatisfy({ $0 != nil }) {
                    ids += bytes.map { $0! }
                    continue
                }
            }
            if let unk = unknownTokenId { ids.append(unk) }
        }
        return ids
    }

    /// The best segmentation as piece strings (unknown runs fused), as `Unigram::encode_optimized`.
    func encode(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return [] }
        let size = bytes.count
        var bestScore = [Double](repeating: 0, count: size + 1)
        var startsAt = [Int](repeating: -1, count: size + 1)
        var bestId = [Int32](repeating: 0, count: size + 1)
        let unkScore = minScore - Self.unknownPenalty
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < size {
                let tillHere = bestScore[start]
                var hasSingleNode = false
                let mblen = min(SentencePieceNormalizer.utf8Length(buffer[start]), size - start)
                trie.commonPrefixSearch(buffer, from: start) { length, id in
                    let end = start + length
                    let candidate = vocab[Int(id)].1 + tillHere
                    if startsAt[end] == -1 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        startsAt[end] = start
                        bestId[end] = id
                    }
                    if length == mblen { hasSingleNode = true }
                }
                if !hasSingleNode, let unk = unknownTokenId {
                    let end = start + mblen
                    let candidate = unkScore + tillHere
                    if startsAt[end] == -1 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        startsAt[end] = start
                        bestId[end] = unk
                    }
                }
                start += mblen
            }
        }
        var results: [String] = []
        var pendingUnknown: [UInt8] = []
        var end = size
        var reversedUnknown: [ArraySlice<UInt8>] = []
        while end > 0 {
            let start = startsAt[end]
            if start < 0 { break }  // no path (no unknown token): nothing more to emit
            if bestId[end] == unknownTokenId {
                reversedUnknown.append(bytes[start..<end])
            } else {
                if !reversedUnknown.isEmpty {
                    pendingUnknown = reversedUnknown.reversed().flatMap { $0 }
                    results.append(String(decoding: pendingUnknown, as: UTF8.self))
                    reversedUnknown = []
                }
                results.append(String(decoding: bytes[start..<end], as: UTF8.self))
            }
            end = start
        }
        if !reversedUnknown.isEmpty {
            results.append(String(decoding: reversedUnknown.reversed().flatMap { $0 }, as: UTF8.self))
        }
        return results.reversed()
    }
}

/// A SentencePiece model file run as `SentencePieceProcessor.encode(text, out_type=str)` runs it: its normalizer,
/// then the model — Unigram: sentencepiece's optimized Viterbi (`float` scores; user-defined pieces favoured, unused
/// pieces skipped, an unknown character scoring the lowest normal score minus 10); BPE: highest-scoring merges first
/// — then unknown pieces split into `<0xNN>` byte pieces (`byte_fallback`) or consecutive unknown pieces merged.
public struct SentencePieceProcessor: Sendable {
    public let model: SentencePieceModel
    let normalizer: SentencePieceNormalizer
    let trie: ByteTrie
    let minScore: Float
    let maxScore: Float
    /// piece -> id, as `PieceToId` (control, unknown and byte pieces included).
    let pieceToIdMap: [ExactString: Int32]
    /// Normal, user-defined and unused pieces (sentencepiece's `pieces_`), which BPE merges may form.
    let normalPieceIds: [ExactString: Int32]
    public let unknownId: Int32

    /// - Throws: `TokenizerError.unsupported` naming `path` and the type when the model is neither Unigram nor BPE;
    ///   `.invalidContent` when it has no unknown piece, an empty or repeated piece, or a broken charsmap.
    public init(model: SentencePieceModel, path: String) throws {
        guard model.modelType == .unigram || model.modelType == .bpe else {
            let name = model.modelType?.name ?? "\(model.modelTypeValue)"
            throw TokenizerError.unsupported(
                path: path, reason: "SentencePiece model type \(name) (supported: UNIGRAM, BPE)")
        }
        self.model = model
        normalizer = try SentencePieceNormalizer(model: model, path: path)
        var keys: [([UInt8], Int32)] = []
        var map: [ExactString: Int32] = [:]
        var normal: [ExactString: Int32] = [:]
        var unk: Int32? = nil
        var minScore = Float.greatestFiniteMagnitude
        var maxScore = Float.leastNormalMagnitude  // FLT_MIN, as sentencepiece starts it
        for (i, p) in model.pieces.enumerated() {
            if p.piece.isEmpty {
                throw TokenizerError.invalidContent(path: path, reason: "piece \(i) is empty")
            }
            if map[ExactString(p.piece)] != nil {
                throw TokenizerError.invalidContent(path: path, reason: "piece \"\(p.piece)\" is defined twice")
            }
            map[ExactString(p.piece)] = Int32(i)
            switch p.type {
            case .normal, .userDefined, .unused:
                keys.append((Array(p.piece.utf8), Int32(i)))
                normal[ExactString(p.piece)] = Int32(i)
            case .unknown:
                if unk != nil { throw TokenizerError.invalidContent(path: path, reason: "more than one unknown piece") }
                unk = Int32(i)
            case .control, .byte:
                break
            }
            if p.type == .normal {
                minScore = min(minScore, p.score)
                maxScore = max(maxScore, p.score)
            }
        }
        guard let unk else { throw TokenizerError.invalidContent(path: path, reason: "no unknown piece (<unk>) defined") }
        trie = ByteTrie(keys: keys)
        pieceToIdMap = map
        normalPieceIds = normal
        unknownId = unk
        self.minScore = minScore
        self.maxScore = maxScore
    }

    /// Loads `spiece.model` (or any SentencePiece model file).
    public init(contentsOf url: URL) throws {
        try self.init(model: try SentencePieceModel(contentsOf: url), path: url.path)
    }

    /// `PieceToId`: the piece's id, or the unknown id.
    public func pieceToId(_ piece: String) -> Int32 { pieceToIdMap[ExactString(piece)] ?? unknownId }

    /// Whether `piece` is one of the model's pieces.
    public func contains(_ piece: String) -> Bool { pieceToIdMap[ExactString(piece)] != nil }

    /// `encode(text, out_type=str)`: the pieces (an unknown run is its normalized text).
    public func encodePieces(_ text: String) -> [String] {
        encode(text).map(\.piece)
    }

    /// `encode(text)`: pieces with their ids.
    public func encode(_ text: String) -> [(piece: String, id: Int32)] {
        let normalized = normalizer.normalize(text)
        if normalized.isEmpty { return [] }
        let path = model.modelType == .bpe ? encodeBPE(normalized) : encodeUnigram(normalized)
        return finish(path)
    }

    /// sentencepiece's unigram `EncodeOptimized`: the best path as (piece bytes, id).
    func encodeUnigram(_ normalized: [UInt8]) -> [(ArraySlice<UInt8>, Int32)] {
        let size = normalized.count
        var bestScore = [Float](repeating: 0, count: size + 1)
        var startsAt = [Int](repeating: -1, count: size + 1)
        var bestId = [Int32](repeating: -1, count: size + 1)
        let unkScore = minScore - 10
        let pieces = model.pieces
        normalized.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < size {
                let tillHere = bestScore[start]
                var hasSingleNode = false
                let mblen = min(SentencePieceNormalizer.utf8Length(buffer[start]), size - start)
                trie.commonPrefixSearch(buffer, from: start) { length, id in
                    let piece = pieces[Int(id)]
                    if piece.type == .unused { return }
                    let end = start + length
                    let candidate: Float
                    let better: Bool
                    if piece.type == .userDefined {
                        // `length * max_score_ - 0.1` is a double in sentencepiece, and so is the sum.
                        let wide = Double(Float(length) * maxScore) - 0.1 + Double(tillHere)
                        better = startsAt[end] == -1 || wide > Double(bestScore[end])
                        candidate = Float(wide)
                    } else {
                        candidate = piece.score + tillHere
                        better = startsAt[end] == -1 || candidate > bestScore[end]
                    }
                    if better {
                        bestScore[end] = candidate
                        startsAt[end] = start
                        bestId[end] = id
                    }
                    if length == mblen { hasSingleNode = true }
                }
                if !hasSingleNode {
                    let end = start + mblen
                    let candidate = unkScore + tillHere
                    if startsAt[end] == -1 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        startsAt[end] = start
                        bestId[end] = unknownId
                    }
                }
                start += mblen
            }
        }
        var path: [(ArraySlice<UInt8>, Int32)] = []
        var end = size
        while end > 0 {
            let start = startsAt[end]
            path.append((normalized[start..<end], bestId[end]))
            end = start
        }
        return path.reversed()
    }

    /// sentencepiece's BPE `SampleEncode` without dropout: characters (user-defined pieces whole and frozen) merged
    /// pairwise, the pair whose concatenation is the highest-scoring piece first (leftmost on ties); a merged unused
    /// piece is split back into the two symbols it came from.
    func encodeBPE(_ normalized: [UInt8]) -> [(ArraySlice<UInt8>, Int32)] {
        struct Symbol {
            var start: Int
            var end: Int
            var prev: Int
            var next: Int
            var freeze: Bool
        }
        struct Pair: Comparable {
            var score: Float
            var left: Int
            var right: Int
            var size: Int
            /// Max-heap order: higher score, then smaller left.
            static func < (a: Pair, b: Pair) -> Bool { a.score != b.score ? a.score < b.score : a.left > b.left }
        }
        var symbols: [Symbol] = []
        var pos = 0
        while pos < normalized.count {
            let (length, frozen) = normalizer.userDefinedMatch(normalized, at: pos)
            let i = symbols.count
            symbols.append(Symbol(start: pos, end: pos + length, prev: i - 1, next: -1, freeze: frozen))
            pos += length
            if pos < normalized.count { symbols[i].next = i + 1 }
        }
        if symbols.isEmpty { return [] }
        var heap = MaxHeap<Pair>()
        var reverseMerge: [ExactString: (ExactString, ExactString)] = [:]
        func key(_ a: Int, _ b: Int) -> ExactString { ExactString(String(decoding: normalized[a..<b], as: UTF8.self)) }
        func maybeAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, !symbols[left].freeze, !symbols[right].freeze else { return }
            let merged = key(symbols[left].start, symbols[right].end)
            guard let id = normalPieceIds[merged] else { return }
            heap.push(Pair(score: model.pieces[Int(id)].score, left: left, right: right,
                           size: symbols[right].end - symbols[left].start))
            if model.pieces[Int(id)].type == .unused {
                reverseMerge[merged] = (key(symbols[left].start, symbols[left].end),
                                        key(symbols[right].start, symbols[right].end))
            }
        }
        for i in 1..<symbols.count { maybeAdd(i - 1, i) }
        while let top = heap.pop() {
            let l = symbols[top.left], r = symbols[top.right]
            if l.start == l.end || r.start == r.end || (l.end - l.start) + (r.end - r.start) != top.size { continue }
            symbols[top.left].end = r.end
            symbols[top.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = top.left }
            symbols[top.right].end = symbols[top.right].start  // emptied
            maybeAdd(symbols[top.left].prev, top.left)
            maybeAdd(top.left, symbols[top.left].next)
        }
        var output: [(ArraySlice<UInt8>, Int32)] = []
        func resegment(_ w: ExactString) {
            let id = pieceToId(w.string)
            // The parts are shorter than `w`, except when text that is not UTF-8 (a charsmap's replacement can be
            // any bytes) decoded to the same replacement characters: then `w` is kept whole rather than split
            // into itself forever.
            if model.pieces[Int(id)].type == .unused, let (a, b) = reverseMerge[w],
               a.string.utf8.count < w.string.utf8.count, b.string.utf8.count < w.string.utf8.count {
                resegment(a)
                resegment(b)
            } else {
                output.append((ArraySlice(Array(w.string.utf8)), id))
            }
        }
        var index = 0
        while index != -1 {
            resegment(key(symbols[index].start, symbols[index].end))
            index = symbols[index].next
        }
        return output
    }

    /// `PopulateSentencePieceText`: an unknown piece becomes its `<0xNN>` byte pieces (`byte_fallback`), or
    /// consecutive unknown pieces are merged into one.
    func finish(_ path: [(ArraySlice<UInt8>, Int32)]) -> [(piece: String, id: Int32)] {
        var result: [(piece: String, id: Int32)] = []
        result.reserveCapacity(path.count)
        var previousUnknown = false
        for (bytes, id) in path {
            let isUnknown = id == unknownId
            if isUnknown && model.byteFallback {
                for b in bytes {
                    let piece = BPEModel.byteToken(b)
                    result.append((piece, pieceToId(piece)))
                }
            } else if isUnknown && previousUnknown {
                result[result.count - 1].piece += String(decoding: bytes, as: UTF8.self)
            } else {
                result.append((String(decoding: bytes, as: UTF8.self), id))
            }
            previousUnknown = isUnknown
        }
        return result
    }
}

/// A binary max-heap.
struct MaxHeap<Element: Comparable> {
    private var items: [Element] = []

    mutating func push(_ e: Element) {
        items.append(e)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[parent] < items[child] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= items.count { break }
            let right = left + 1
            let larger = right < items.count && items[left] < items[right] ? right : left
            guard items[parent] < items[larger] else { break }
            items.swapAt(larger, parent)
            parent = larger
        }
        return top
    }
}
