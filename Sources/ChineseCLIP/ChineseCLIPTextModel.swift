// The text tower (`text_model.*`): a BERT encoder. Word + position + token-type embeddings and LayerNorm, then
// post-norm layers (attention.self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}). Struct and field names follow the checkpoint's tensor paths.
import Compute
import Foundation
import Layers
import SafeTensors

/// `ChineseCLIPTextEmbeddings`: `word_embeddings` `[vocab, d]`, `position_embeddings` `[max_position_embeddings, d]`,
/// `token_type_embeddings` `[type_vocab_size, d]`, `LayerNorm`.
struct ChineseCLIPTextEmbeddings: Sendable {
    let word_embeddings: FloatBuffer
    let position_embeddings: FloatBuffer
    let token_type_embeddings: FloatBuffer
    let LayerNorm: Layers.LayerNorm

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        let d = c.hiddenSize
        word_embeddings = try w.get("word_embeddings.weight", [c.vocabSize, d])
        position_embeddings = try w.get("position_embeddings.weight", [c.maxPositionEmbeddings, d])
        token_type_embeddings = try w.get("token_type_embeddings.weight", [c.typeVocabSize, d])
        LayerNorm = try Layers.LayerNorm(w.pp("LayerNorm"), dim: d, eps: c.layerNormEps)
    }
}

/// `ChineseCLIPTextSelfAttention` (`attention.self`): `query`, `key`, `value`.
struct ChineseCLIPTextSelfAttention: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear

    init(_ w: WeightLoader, _ d: Int) throws {
        query = try Linear(w.pp("query"), in: d, out: d)
        key = try Linear(w.pp("key"), in: d, out: d)
        value = try Linear(w.pp("value"), in: d, out: d)
    }
}

/// `ChineseCLIPTextSelfOutput` (`attention.output`) and `ChineseCLIPTextOutput` (`output`): `dense`, then
/// `LayerNorm` of the residual sum.
struct ChineseCLIPTextDenseNorm: Sendable {
    let dense: Linear
    let LayerNorm: Layers.LayerNorm

    init(_ w: WeightLoader, in inFeatures: Int, _ c: ChineseCLIPTextConfig) throws {
        dense = try Linear(w.pp("dense"), in: inFeatures, out: c.hiddenSize)
        LayerNorm = try Layers.LayerNorm(w.pp("LayerNorm"), dim: c.hiddenSize, eps: c.layerNormEps)
    }

    /// `residual = LayerNorm(dense(x) + residual)` in column layout: `x` `[in, cols]`, `residual` `[d, cols]`.
    func columns(_ x: UnsafePointer<Float>, cols: Int, residual: UnsafeMutablePointer<Float>) throws {
        try dense.columns(x, cols: cols, output: residual, accumulate: true)
        LayerNorm.columns(residual, cols: cols, output: residual)
    }
}

/// `ChineseCLIPTextAttention` (`attention`): `self`, `output`.
struct ChineseCLIPTextAttention: Sendable {
    let `self`: ChineseCLIPTextSelfAttention
    let output: ChineseCLIPTextDenseNorm

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        self.`self` = try ChineseCLIPTextSelfAttention(w.pp("self"), c.hiddenSize)
        output = try ChineseCLIPTextDenseNorm(w.pp("output"), in: c.hiddenSize, c)
    }
}

/// `ChineseCLIPTextIntermediate` (`intermediate`): `dense`, then `hidden_act`.
struct ChineseCLIPTextIntermediate: Sendable {
    let dense: Linear

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        dense = try Linear(w.pp("dense"), in: c.hiddenSize, out: c.intermediateSize)
    }
}

/// `ChineseCLIPTextLayer` (`encoder.layer.N`): post-norm attention and feed-forward blocks.
struct ChineseCLIPTextLayer: Sendable {
    let attention: ChineseCLIPTextAttention
    let intermediate: ChineseCLIPTextIntermediate
    let output: ChineseCLIPTextDenseNorm

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        attention = try ChineseCLIPTextAttention(w.pp("attention"), c)
        intermediate = try ChineseCLIPTextIntermediate(w.pp("intermediate"), c)
        output = try ChineseCLIPTextDenseNorm(w.pp("output"), in: c.intermediateSize, c)
    }
}

/// `ChineseCLIPTextEncoder` (`encoder`): `layer.0` ... `layer.{n-1}`.
struct ChineseCLIPTextEncoder: Sendable {
    let layer: [ChineseCLIPTextLayer]

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        layer = try (0..<c.numHiddenLayers).map { try ChineseCLIPTextLayer(w.pp("layer").pp(String($0)), c) }
    }
}

/// `ChineseCLIPTextModel` as `ChineseCLIPModel` builds it (`add_pooling_layer=False`: the `pooler` a checkpoint
/// may store is not part of it).
struct ChineseCLIPTextModel: Sendable {
    let embeddings: ChineseCLIPTextEmbeddings
    let encoder: ChineseCLIPTextEncoder
    let config: ChineseCLIPTextConfig

    init(_ w: WeightLoader, _ c: ChineseCLIPTextConfig) throws {
        embeddings = try ChineseCLIPTextEmbeddings(w.pp("embeddings"), c)
        encoder = try ChineseCLIPTextEncoder(w.pp("encoder"), c)
        config = c
    }

    /// The final hidden state of each row's first token (`last_hidden_state[:, 0, :]`, the raw `[CLS]` state that
    /// `get_text_features` projects; no pooler), `[batch, hidden]`.
    ///
    /// Each row is one sequence of its own (positions from 0, token type 0), attending to all of its tokens and
    /// to no other row's: transformers' result for a right-padded batch with its attention mask, whose padding is
    /// masked out of every key. The caller validates the ids (non-empty rows, within the vocabulary and
    /// `max_position_embeddings`). Only the first tokens go through the last layer's query, output and
    /// feed-forward parts.
    func firstTokenStates(inputIds: [[Int32]], output: UnsafeMutablePointer<Float>) throws {
        let c = config
        let d = c.hiddenSize, heads = c.numAttentionHeads, hd = d / heads
        var segments: [Segment] = []
        var start = 0
        for row in inputIds {
            segments.append(Segment(start: start, length: row.count))
            start += row.count
        }
        let tokens = start
        let batch = inputIds.count
        let firsts = segments.map(\.start)

        // Embeddings in column layout ([d, tokens], one column per token), then their LayerNorm.
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(tokens * d, 1))
        defer { hidden.deallocate() }
        let word = embeddings.word_embeddings.pointer, pos = embeddings.position_embeddings.pointer
        let type0 = embeddings.token_type_embeddings.pointer  // token_type_ids all 0: row 0
        for (row, seg) in zip(inputIds, segments) {
            for (t, id) in row.enumerated() {
                let we = word + Int(id) * d, pe = pos + t * d
                let column = seg.start + t
                for i in 0..<d { hidden[i * tokens + column] = we[i] + type0[i] + pe[i] }
            }
        }
        embeddings.LayerNorm.columns(hidden, cols: tokens, output: hidden)

        let layers = encoder.layer
        if layers.isEmpty {
            for (b, column) in firsts.enumerated() { for i in 0..<d { output[b * d + i] = hidden[i * tokens + column] } }
            return
        }
        let maxLength = segments.map(\.length).max() ?? 0
        let threads = ComputeThreads.count
        let ws = EncoderWorkspace(tokens: tokens, maxQueries: maxLength, maxKeys: maxLength, threads: threads,
                                  shape: EncoderShape(c))
        let scale = 1 / Float(hd).squareRoot()

        for (li, layer) in layers.enumerated() {
            let last = li == layers.count - 1
            // Columns that go on through this layer: all tokens, or (last layer) each row's first token, gathered.
            let n = last ? batch : tokens
            let attention = layer.attention.`self`
            try attention.key.columns(hidden, cols: tokens, output: ws.k)
            try attention.value.columns(hidden, cols: tokens, output: ws.v)
            let stream: UnsafeMutablePointer<Float>
            if last {
                for f in 0..<d {
                    let src = hidden + f * tokens, dst = ws.stream + f * n
                    for (b, column) in firsts.enumerated() { dst[b] = src[column] }
                }
                try attention.query.columns(ws.stream, cols: n, output: ws.q)
                stream = ws.stream
            } else {
                try attention.query.columns(hidden, cols: tokens, output: ws.q)
                stream = hidden
            }

            // Bidirectional attention within each row, one job per (query group, head): a whole row, or (last
            // layer) one row's first token.
            let buffers = UncheckedSendable((ws.q, ws.k, ws.v, ws.context, ws.scratch))
            let scratchPerThread = ws.scratchPerThread
            ComputeThreads.parallelFor(segments.count * heads) { job, thread in
                let (q, k, v, context, scratch) = buffers.value
                let g = job / heads, h = job % heads
                let seg = segments[g]
                let qCol = last ? g : seg.start, count = last ? 1 : seg.length
                let offset = h * hd
                attentionHeadColumns(
                    q: q + offset * n, ldq: n, qCol: qCol, nq: count, qStart: 0,
                    k: k + offset * tokens, v: v + offset * tokens, ldkv: tokens,
                    keyRanges: (0..<0, seg.start..<(seg.start + seg.length)),
                    headDim: hd, scale: scale, causal: false,
                    scratch: scratch + thread * scratchPerThread, output: context + offset * n, ldo: n)
            }

            // stream = LayerNorm(stream + dense(context)); stream = LayerNorm(stream + dense(act(dense(stream))))
            try layer.attention.output.columns(ws.context, cols: n, residual: stream)
            try layer.intermediate.dense.columns(stream, cols: n, output: ws.mlp, activation: c.hiddenAct)
            try layer.output.columns(ws.mlp, cols: n, residual: stream)
            if last { transpose(stream, rows: d, cols: n, output: output) }
        }
    }
}
