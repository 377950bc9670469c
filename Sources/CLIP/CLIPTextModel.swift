// The text tower (`text_model.*`): token + position embeddings, causal encoder, final_layer_norm, pooling.
import Compute
import Foundation
import Layers
import SafeTensors

/// `CLIPTextEmbeddings`: `token_embedding` `[vocab, d]`, `position_embedding` `[max_position_embeddings, d]`.
struct CLIPTextEmbeddings: Sendable {
    let token_embedding: FloatBuffer
    let position_embedding: FloatBuffer

    init(_ w: WeightLoader, _ c: CLIPTextConfig) throws {
        token_embedding = try w.get("token_embedding.weight", [c.vocabSize, c.hiddenSize])
        position_embedding = try w.get("position_embedding.weight", [c.maxPositionEmbeddings, c.hiddenSize])
    }
}

/// `CLIPTextTransformer` (the `text_model` of `CLIPModel`).
struct CLIPTextTransformer: Sendable {
    let embeddings: CLIPTextEmbeddings
    let encoder: Encoder
    let final_layer_norm: LayerNorm
    let config: CLIPTextConfig

    init(_ w: WeightLoader, _ c: CLIPTextConfig) throws {
        embeddings = try CLIPTextEmbeddings(w.pp("embeddings"), c)
        encoder = try Encoder(w.pp("encoder"), EncoderShape(c))
        final_layer_norm = try LayerNorm(w.pp("final_layer_norm"), dim: c.hiddenSize, eps: c.layerNormEps)
        config = c
    }

    /// Index of the pooled token in one row, as transformers' `CLIPTextModel`: with `eos_token_id == 2` (early
    /// openai/clip-* configs) the first position of the largest id (argmax of input_ids), otherwise the first
    /// position of `eos_token_id` (position 0 when the row has none, as torch's argmax of an all-zero mask).
    static func poolingIndex(_ ids: [Int32], eosTokenId: Int) -> Int {
        if eosTokenId == 2 {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex { Int($0) == eosTokenId } ?? 0
    }

    /// Pooled output `[batch, hidden]` after final_layer_norm. Rows may differ in length; each is one
    /// causal sequence (the result equals transformers' on a right-padded batch). The caller validates ids.
    ///
    /// Rows that start with the same tokens (labels in one template, the prompts of an ensemble) share that
    /// prefix's hidden states: causal attention makes them independent of what follows, so each group's prefix
    /// runs once and the rest of each row attends to its keys and values (`prefixGroups` forms the groups from the
    /// token ids alone). Only the pooled tokens go through the last layer.
    func pooled(inputIds: [[Int32]], output: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize
        // Columns: per group, its prefix (when it has one), then the rest of each of its rows.
        var segments: [Segment] = []
        var rowSegment = [Int](repeating: 0, count: inputIds.count)
        var rowPrefix = [Int](repeating: 0, count: inputIds.count)
        var start = 0
        for group in Self.prefixGroups(inputIds) {
            let p = group.prefix
            var prefix = 0..<0
            if p > 0 {
                prefix = start..<(start + p)
                segments.append(Segment(start: start, length: p))
                start += p
            }
            for row in group.rows {
                rowSegment[row] = segments.count
                rowPrefix[row] = p
                segments.append(Segment(start: start, length: inputIds[row].count - p, prefix: prefix))
                start += inputIds[row].count - p
            }
        }
        let tokens = start
        // Hidden states in column layout: [d, tokens], one column per token.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        var keep = [Int](repeating: 0, count: inputIds.count)
        for (r, row) in inputIds.enumerated() {
            let seg = segments[rowSegment[r]], p = rowPrefix[r]
            if p > 0 && seg.prefix.lowerBound + p == seg.start {
                // The first row of its group writes the prefix (the prefix segment sits just before it).
                embed(row[0..<p], firstPosition: 0, into: hidden, column: seg.prefix.lowerBound, tokens: tokens)
            }
            embed(row[p...], firstPosition: p, into: hidden, column: seg.start, tokens: tokens)
            // The pooled token of each row: inside its prefix, or in the row's own part.
            let index = Self.poolingIndex(row, eosTokenId: config.eosTokenId)
            keep[r] = index < p ? seg.prefix.lowerBound + index : seg.start + index - p
        }
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: max(keep.count * d, 1))
        defer { finals.deallocate() }
        try encoder(hidden, segments: segments, causal: true, keep: keep, output: finals)
        final_layer_norm(finals, rows: keep.count, output: output)
    }

    /// token_embedding + position_embedding for `ids` at positions `firstPosition...`, written to the columns
    /// `column...` of `hidden` (`[hidden, tokens]`, column layout).
    private func embed(_ ids: ArraySlice<Int32>, firstPosition: Int, into hidden: UnsafeMutablePointer<Float>, column: Int,
                       tokens: Int) {
        let d = config.hiddenSize
        let tok = embeddings.token_embedding.pointer, pos = embeddings.position_embedding.pointer
        for (t, id) in zip(0..., ids) {
            let te = tok + Int(id) * d
            let pe = pos + (firstPosition + t) * d
            for i in 0..<d { hidden[i * tokens + column + t] = te[i] + pe[i] }
        }
    }

    /// Rows grouped to share leading tokens: each group's rows (indices into `rows`) and how many leading
    /// tokens they all share (`prefix`, 0 for a row on its own), each row keeping at least one token of its own.
    ///
    /// The rule uses the token ids alone: rows are sorted lexicographically, so rows that share a prefix are
    /// neighbours, and the sorted list is cut into runs (dynamic programming over the cut points, runs of at most
    /// `maxGroup` rows) so that the tokens the encoder runs, each group's prefix once plus every row's own tokens,
    /// are fewest. Groups come in sorted order.
    static func prefixGroups(_ rows: [[Int32]], maxGroup: Int = 512) -> [(prefix: Int, rows: [Int])] {
        let n = rows.count
        guard n > 1 else { return rows.indices.map { (0, [$0]) } }
        let order = rows.indices.sorted { a, b in
            let x = rows[a], y = rows[b]
            for (u, v) in zip(x, y) where u != v { return u < v }
            return x.count != y.count ? x.count < y.count : a < b
        }
        // lcp[i]: tokens sorted rows i-1 and i share.
        var lcp = [Int](repeating: 0, count: n)
        for i in 1..<n {
            let x = rows[order[i - 1]], y = rows[order[i]]
            var l = 0
            while l < min(x.count, y.count), x[l] == y[l] { l += 1 }
            lcp[i] = l
        }
        // best[j]: fewest tokens for sorted rows 0..<j; cut[j]: where the last group of that cover starts.
        var best = [Int](repeating: .max, count: n + 1), cut = [Int](repeating: 0, count: n + 1)
        var share = [Int](repeating: 0, count: n + 1)
        best[0] = 0
        for j in 1...n {
            var shared = Int.max, shortest = Int.max, total = 0
            var i = j - 1
            while i >= max(0, j - maxGroup) {
                let count = rows[order[i]].count
                total += count
                shortest = min(shortest, count)
                if i < j - 1 { shared = min(shared, lcp[i + 1]) }
                // A group of one row runs all its tokens; a larger one its prefix once (each row keeps a token).
                let p = i == j - 1 ? 0 : min(shared, shortest - 1)
                let cost = best[i] + total - (j - i - 1) * p
                if cost < best[j] { best[j] = cost; cut[j] = i; share[j] = p }
                // Once nothing is shared any more, a longer group only costs what separate rows would.
                if p == 0 && i < j - 1 { break }
                i -= 1
            }
        }
        var groups: [(prefix: Int, rows: [Int])] = []
        var j = n
        while j > 0 {
            let i = cut[j]
            groups.append((share[j], Array(order[i..<j])))
            j = i
        }
        return groups.reversed()
    }
}
