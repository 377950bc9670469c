// The text tower (`text_model.*`): token + position embeddings, causal encoder, final_layer_norm, pooling.
import Compute
import Foundation
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
    let encoder: CLIPEncoder
    let final_layer_norm: LayerNorm
    let config: CLIPTextConfig

    init(_ w: WeightLoader, _ c: CLIPTextConfig) throws {
        let shape = EncoderShape(hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize,
                                 numLayers: c.numHiddenLayers, numHeads: c.numAttentionHeads,
                                 activation: c.hiddenAct, layerNormEps: c.layerNormEps)
        embeddings = try CLIPTextEmbeddings(w.pp("embeddings"), c)
        encoder = try CLIPEncoder(w.pp("encoder"), shape)
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
    func pooled(inputIds: [[Int32]], output: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize
        var segments: [Segment] = []
        var start = 0
        for row in inputIds {
            segments.append(Segment(start: start, length: row.count))
            start += row.count
        }
        let tokens = start
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        let tok = embeddings.token_embedding.pointer, pos = embeddings.position_embedding.pointer
        for (row, seg) in zip(inputIds, segments) {
            for (t, id) in row.enumerated() {
                let dst = hidden + (seg.start + t) * d
                let te = tok + Int(id) * d
                let pe = pos + t * d
                for i in 0..<d { dst[i] = te[i] + pe[i] }
            }
        }
        try encoder(hidden, segments: segments, causal: true)
        for (b, (row, seg)) in zip(inputIds, segments).enumerated() {
            let index = Self.poolingIndex(row, eosTokenId: config.eosTokenId)
            final_layer_norm(hidden + (seg.start + index) * d, rows: 1, output: output + b * d)
        }
    }
}
