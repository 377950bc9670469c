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
    /// Rows that start with the same tokens (labels in one hypothesis template) share that prefix's hidden
    /// states: causal attention makes them independent of what follows, so the prefix runs once and the rest of
    /// each row attends to its keys and values. Only the pooled tokens go through the last layer.
    func pooled(inputIds: [[Int32]], output: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize
        let p = Self.sharedPrefixLength(inputIds)
        // Rows: the shared prefix once (when there is one), then the rest of every row.
        var segments: [Segment] = []
        if p > 0 { segments.append(Segment(start: 0, length: p)) }
        var start = p
        for row in inputIds {
            segments.append(Segment(start: start, length: row.count - p))
            start += row.count - p
        }
        let tokens = start
        // Hidden states in column layout: [d, tokens], one column per token.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        if p > 0 { embed(Array(inputIds[0].prefix(p)), firstPosition: 0, into: hidden, column: 0, tokens: tokens) }
        let own = p > 0 ? Array(segments.dropFirst()) : segments
        for (row, seg) in zip(inputIds, own) {
            embed(Array(row[p...]), firstPosition: p, into: hidden, column: seg.start, tokens: tokens)
        }
        // The pooled token of each row: inside the prefix, or in the row's own part.
        let keep = zip(inputIds, own).map { row, seg in
            let index = Self.poolingIndex(row, eosTokenId: config.eosTokenId)
            return index < p ? index : seg.start + index - p
        }
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: max(keep.count * d, 1))
        defer { finals.deallocate() }
        try encoder(hidden, segments: segments, causal: true, sharedPrefix: p, keep: keep, output: finals)
        final_layer_norm(finals, rows: keep.count, output: output)
    }

    /// token_embedding + position_embedding for `ids` at positions `firstPosition...`, written to the columns
    /// `column...` of `hidden` (`[hidden, tokens]`, column layout).
    private func embed(_ ids: [Int32], firstPosition: Int, into hidden: UnsafeMutablePointer<Float>, column: Int,
                       tokens: Int) {
        let d = config.hiddenSize
        let tok = embeddings.token_embedding.pointer, pos = embeddings.position_embedding.pointer
        for (t, id) in ids.enumerated() {
            let te = tok + Int(id) * d
            let pe = pos + (firstPosition + t) * d
            for i in 0..<d { hidden[i * tokens + column + t] = te[i] + pe[i] }
        }
    }

    /// How many leading tokens every row shares, leaving each row at least one token of its own; 0 when
    /// sharing would not pay (a single row, or fewer than 2 shared tokens).
    static func sharedPrefixLength(_ rows: [[Int32]]) -> Int {
        guard rows.count > 1, var length = rows.map(\.count).min() else { return 0 }
        length -= 1
        for row in rows.dropFirst() {
            var i = 0
            while i < length, row[i] == rows[0][i] { i += 1 }
            length = i
        }
        return length >= 2 ? length : 0
    }
}
