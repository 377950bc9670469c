// The text tower (`text_model.*`): token + position embeddings, bidirectional encoder, final_layer_norm, the
// last position pooled, head.
import Compute
import Foundation
import Layers
import SafeTensors

/// `SiglipTextEmbeddings`: `token_embedding` `[vocab, d]`, `position_embedding` `[max_position_embeddings, d]`.
struct SiglipTextEmbeddings: Sendable {
    let token_embedding: FloatBuffer
    let position_embedding: FloatBuffer

    init(_ w: WeightLoader, _ c: SiglipTextConfig) throws {
        token_embedding = try w.get("token_embedding.weight", [c.vocabSize, c.hiddenSize])
        position_embedding = try w.get("position_embedding.weight", [c.maxPositionEmbeddings, c.hiddenSize])
    }
}

/// `SiglipTextTransformer` (the `text_model` of `SiglipModel`).
struct SiglipTextTransformer: Sendable {
    let embeddings: SiglipTextEmbeddings
    let encoder: Encoder
    let final_layer_norm: LayerNorm
    /// `head` `[projection_size, hidden]` with bias: the pooled state's projection.
    let head: Linear
    let config: SiglipTextConfig

    init(_ w: WeightLoader, _ c: SiglipTextConfig) throws {
        embeddings = try SiglipTextEmbeddings(w.pp("embeddings"), c)
        encoder = try Encoder(w.pp("encoder"), EncoderShape(c))
        final_layer_norm = try LayerNorm(w.pp("final_layer_norm"), dim: c.hiddenSize, eps: c.layerNormEps)
        head = try Linear(w.pp("head"), in: c.hiddenSize, out: c.projectionSize, quantizable: false)
        config = c
    }

    /// The positions of one row that go through the encoder, and how many of them (the first ones) are keys.
    ///
    /// Without a mask every position attends to every other. With one, as transformers' bidirectional mask, the
    /// masked positions are hidden as keys; they still attend, but only the last position (the pooled one) needs
    /// its state, so the others are left out.
    static func positions(length: Int, mask: [Int32]?) -> (positions: [Int], keys: Int) {
        guard let mask else { return (Array(0..<length), length) }
        var positions = (0..<length).filter { mask[$0] == 1 }
        let keys = positions.count
        if mask[length - 1] != 1 { positions.append(length - 1) }
        return (positions, keys)
    }

    /// Pooled output `[batch, projection_size]`: `head(final_layer_norm(h)[last position])` for each row, as
    /// transformers' `SiglipTextModel` (the last position, whatever token it holds). Rows may differ in length;
    /// `mask`, when given, has one row of 0/1 per input_ids row of the same length, with a 1 in each row. The
    /// caller validates ids and mask.
    func pooled(inputIds: [[Int32]], mask: [[Int32]]?, output: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize
        let rows = inputIds.indices.map { Self.positions(length: inputIds[$0].count, mask: mask?[$0]) }
        var segments: [Segment] = []
        var start = 0
        for row in rows {
            segments.append(Segment(start: start, length: row.positions.count, keys: row.keys))
            start += row.positions.count
        }
        let tokens = start
        // Hidden states in column layout: [d, tokens], one column per token.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        let tok = embeddings.token_embedding.pointer, pos = embeddings.position_embedding.pointer
        for (ids, (row, seg)) in zip(inputIds, zip(rows, segments)) {
            for (column, position) in zip(seg.start..., row.positions) {
                let te = tok + Int(ids[position]) * d, pe = pos + position * d
                for i in 0..<d { hidden[i * tokens + column] = te[i] + pe[i] }
            }
        }
        // The pooled (last) position of each row is its segment's last column.
        let keep = segments.map { $0.start + $0.length - 1 }
        let finals = UnsafeMutablePointer<Float>.allocate(capacity: max(keep.count * d, 1))
        defer { finals.deallocate() }
        if encoder.layers.isEmpty {
            for (r, column) in keep.enumerated() {
                for i in 0..<d { finals[r * d + i] = hidden[i * tokens + column] }
            }
        } else {
            try encoder(hidden, segments: segments, causal: false, keep: keep, output: finals)
        }
        final_layer_norm(finals, rows: keep.count, output: finals)
        try head(finals, rows: keep.count, output: output)
    }
}
