// Weight loading and the transformer encoder shared by both towers. Struct and field names follow the
// checkpoint's tensor paths (e.g. `encoder.layers.3.self_attn.q_proj.weight`), one line per tensor.
import Compute
import Foundation
import SafeTensors

/// Loads tensors under a name prefix, checking shapes; errors name the tensor and the expected/found shape.
struct WeightLoader {
    let checkpoint: SafeTensorsCheckpoint
    let prefix: String
    var precision: Precision = .fp32

    /// The loader for the sub-module `name` (`prefix.name.`).
    func pp(_ name: String) -> WeightLoader {
        WeightLoader(checkpoint: checkpoint, prefix: prefix + name + ".", precision: precision)
    }

    func get(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
        let full = prefix + name
        do {
            return try checkpoint.floats(full, shape: shape)
        } catch SafeTensorsError.tensorNotFound {
            throw CLIPError.missingTensor(name: full, expectedShape: shape, checkpoint: checkpoint.directory.path)
        } catch SafeTensorsError.shapeMismatch(_, _, let expected, let found) {
            throw CLIPError.wrongShape(name: full, expected: expected, found: found, checkpoint: checkpoint.directory.path)
        }
    }
}

/// `nn.LayerNorm(dim, eps)`: `weight`, `bias`.
struct LayerNorm: Sendable {
    let weight: FloatBuffer
    let bias: FloatBuffer
    let dim: Int
    let eps: Float

    init(_ w: WeightLoader, dim: Int, eps: Float) throws {
        weight = try w.get("weight", [dim])
        bias = try w.get("bias", [dim])
        self.dim = dim
        self.eps = eps
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        layerNorm(x, rows: rows, dim: dim, weight: weight.pointer, bias: bias.pointer, eps: eps, output: output)
    }
}

/// Arithmetic of the encoder's linear layers.
public enum Precision: String, Sendable, CaseIterable {
    /// float32 throughout, as transformers computes.
    case fp32
    /// Linear layers of both encoders with int8 weights (per output channel, symmetric) and dynamically
    /// quantized uint8 activations, int32 products; an approximation (image-embedding cosine to float32 about
    /// 0.99). Embeddings, layer norms, attention and projections stay float32.
    case int8
}

/// `nn.Linear(inFeatures, outFeatures)`: `weight` `[out, in]`, optional `bias` `[out]`.
struct Linear: Sendable {
    let weight: FloatBuffer
    let bias: FloatBuffer?
    let inFeatures: Int
    let outFeatures: Int
    /// The weight quantized at load when the loader asks for int8 (encoder layers only).
    let int8: Int8Weight?

    init(_ w: WeightLoader, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true,
         quantizable: Bool = true) throws {
        weight = try w.get("weight", [outFeatures, inFeatures])
        bias = hasBias ? try w.get("bias", [outFeatures]) : nil
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        int8 = quantizable && w.precision == .int8
            ? Int8Weight(weight: weight.pointer, outFeatures: outFeatures, inFeatures: inFeatures) : nil
    }

    func callAsFunction(
        _ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        activation: Activation = .none, accumulate: Bool = false
    ) throws {
        if let int8 {
            try linearInt8(x, rows: rows, weight: int8, bias: bias?.pointer, activation: activation,
                           accumulate: accumulate, output: output)
        } else {
            try linear(x, rows: rows, inFeatures: inFeatures, weight: weight.pointer, bias: bias?.pointer,
                       outFeatures: outFeatures, activation: activation, accumulate: accumulate, output: output)
        }
    }
}

/// Sizes shared by the two towers' encoders.
struct EncoderShape: Sendable {
    let hiddenSize: Int
    let intermediateSize: Int
    let numLayers: Int
    let numHeads: Int
    let activation: Activation
    let layerNormEps: Float
    var headDim: Int { hiddenSize / numHeads }
}

/// `CLIPAttention`: `k_proj`, `v_proj`, `q_proj`, `out_proj`.
struct CLIPAttention: Sendable {
    let k_proj: Linear
    let v_proj: Linear
    let q_proj: Linear
    let out_proj: Linear

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        k_proj = try Linear(w.pp("k_proj"), in: s.hiddenSize, out: s.hiddenSize)
        v_proj = try Linear(w.pp("v_proj"), in: s.hiddenSize, out: s.hiddenSize)
        q_proj = try Linear(w.pp("q_proj"), in: s.hiddenSize, out: s.hiddenSize)
        out_proj = try Linear(w.pp("out_proj"), in: s.hiddenSize, out: s.hiddenSize)
    }
}

/// `CLIPMLP`: `fc1`, `fc2`.
struct CLIPMLP: Sendable {
    let fc1: Linear
    let fc2: Linear

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        fc1 = try Linear(w.pp("fc1"), in: s.hiddenSize, out: s.intermediateSize)
        fc2 = try Linear(w.pp("fc2"), in: s.intermediateSize, out: s.hiddenSize)
    }
}

/// `CLIPEncoderLayer`: pre-norm attention and MLP blocks with residual connections.
struct CLIPEncoderLayer: Sendable {
    let self_attn: CLIPAttention
    let layer_norm1: LayerNorm
    let mlp: CLIPMLP
    let layer_norm2: LayerNorm

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        self_attn = try CLIPAttention(w.pp("self_attn"), s)
        layer_norm1 = try LayerNorm(w.pp("layer_norm1"), dim: s.hiddenSize, eps: s.layerNormEps)
        mlp = try CLIPMLP(w.pp("mlp"), s)
        layer_norm2 = try LayerNorm(w.pp("layer_norm2"), dim: s.hiddenSize, eps: s.layerNormEps)
    }
}

/// A run of consecutive rows of the packed hidden-state matrix that form one sequence.
struct Segment: Sendable {
    let start: Int
    let length: Int
}

/// Scratch buffers for one encoder pass; allocated once per call, sized for the pass.
final class EncoderWorkspace {
    let normed: UnsafeMutablePointer<Float>
    let q: UnsafeMutablePointer<Float>
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let context: UnsafeMutablePointer<Float>
    let mlp: UnsafeMutablePointer<Float>
    /// Keys and values with the prefix rows placed before each sequence's own rows.
    let kFull: UnsafeMutablePointer<Float>
    let vFull: UnsafeMutablePointer<Float>
    /// One attention score row per worker thread.
    let scores: UnsafeMutablePointer<Float>
    let buffers: [UnsafeMutablePointer<Float>]

    init(tokens: Int, fullTokens: Int, maxKeys: Int, threads: Int, shape s: EncoderShape) {
        func make(_ count: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(count, 1)) }
        let n = tokens * s.hiddenSize
        normed = make(n); q = make(n); k = make(n); v = make(n); context = make(n)
        mlp = make(tokens * s.intermediateSize)
        kFull = make(fullTokens * s.hiddenSize); vFull = make(fullTokens * s.hiddenSize)
        scores = make(threads * maxKeys)
        buffers = [normed, q, k, v, context, mlp, kFull, vFull, scores]
    }

    deinit {
        for p in buffers { p.deallocate() }
    }
}

/// `CLIPEncoder`: `layers.0` ... `layers.{n-1}`.
struct CLIPEncoder: Sendable {
    let layers: [CLIPEncoderLayer]
    let shape: EncoderShape

    init(_ w: WeightLoader, _ s: EncoderShape) throws {
        layers = try (0..<s.numLayers).map { try CLIPEncoderLayer(w.pp("layers").pp(String($0)), s) }
        shape = s
    }

    /// Runs every layer on `hidden` (`[tokens, hiddenSize]`, sequences packed as `segments`).
    ///
    /// - `sharedPrefix`: when positive, `segments[0]` (rows `0..<sharedPrefix`) holds tokens that precede every
    ///   other segment: those segments are positions `sharedPrefix...` of their sequences and attend to the
    ///   prefix's keys and values before their own. With causal attention the prefix does not depend on what
    ///   follows, so sequences that start alike (labels filled into one template) share it exactly, and one pass
    ///   over the weights serves all of them.
    /// - `keep`: when given, only these rows' final hidden states are needed: the last layer computes queries,
    ///   attention output and MLP for them alone, and writes them compacted to `output` (`[keep.count, hidden]`).
    ///   Otherwise every row is updated in place in `hidden`.
    func callAsFunction(
        _ hidden: UnsafeMutablePointer<Float>, segments: [Segment], causal: Bool, sharedPrefix: Int = 0,
        keep: [Int]? = nil, output: UnsafeMutablePointer<Float>? = nil
    ) throws {
        let tokens = segments.reduce(0) { $0 + $1.length }
        let d = shape.hiddenSize, heads = shape.numHeads, hd = shape.headDim
        let p = sharedPrefix
        precondition(p == 0 || (segments.first?.start == 0 && segments.first?.length == p), "prefix must be segment 0")
        precondition(keep == nil || output != nil, "kept rows need an output buffer")
        // Keys each segment sees before its own rows.
        let keyPrefix = segments.indices.map { p > 0 && $0 > 0 ? p : 0 }
        let maxKeys = zip(segments, keyPrefix).map { $0.length + $1 }.max() ?? 0
        let threads = ComputeThreads.count
        let ws = EncoderWorkspace(tokens: tokens, fullTokens: p > 0 ? tokens + (segments.count - 1) * p : 0,
                                  maxKeys: maxKeys, threads: threads, shape: shape)
        let scale = 1 / Float(hd).squareRoot()

        // Which segment each row belongs to.
        var rowSegment = [Int](repeating: 0, count: tokens)
        for (si, seg) in segments.enumerated() { for r in seg.start..<(seg.start + seg.length) { rowSegment[r] = si } }
        // Start of each segment's key block (the prefix rows first, when it has them).
        var keyStarts: [Int] = []
        var next = 0
        for (si, seg) in segments.enumerated() {
            keyStarts.append(p > 0 ? next : seg.start)
            next += keyPrefix[si] + seg.length
        }

        for (li, layer) in layers.enumerated() {
            let last = li == layers.count - 1
            let queryRows: [Int]? = last ? keep : nil
            let nq = queryRows?.count ?? tokens

            // normed = layer_norm1(hidden); keys and values for every row.
            layer.layer_norm1(hidden, rows: tokens, output: ws.normed)
            try layer.self_attn.k_proj(ws.normed, rows: tokens, output: ws.k)
            try layer.self_attn.v_proj(ws.normed, rows: tokens, output: ws.v)
            var kBlock = ws.k, vBlock = ws.v
            if p > 0 {
                for (si, seg) in segments.enumerated() {
                    var dst = keyStarts[si] * d
                    if keyPrefix[si] > 0 {
                        (ws.kFull + dst).update(from: ws.k, count: p * d)
                        (ws.vFull + dst).update(from: ws.v, count: p * d)
                        dst += p * d
                    }
                    (ws.kFull + dst).update(from: ws.k + seg.start * d, count: seg.length * d)
                    (ws.vFull + dst).update(from: ws.v + seg.start * d, count: seg.length * d)
                }
                kBlock = ws.kFull
                vBlock = ws.vFull
            }
            if nq == 0 { continue }

            // Queries: all rows, or the kept rows gathered.
            if let queryRows {
                for (i, r) in queryRows.enumerated() { (ws.context + i * d).update(from: ws.normed + r * d, count: d) }
                try layer.self_attn.q_proj(ws.context, rows: nq, output: ws.q)
            } else {
                try layer.self_attn.q_proj(ws.normed, rows: tokens, output: ws.q)
            }

            // Attention, one job per (query group, head): a whole segment, or one kept row.
            let groups = queryRows?.count ?? segments.count
            let q = ws.q, context = ws.context, scores = ws.scores
            let jobs = UncheckedSendable((kBlock, vBlock))
            let shared = UncheckedSendable((q, context, scores))
            ComputeThreads.parallelFor(groups * heads) { job, thread in
                let (kb, vb) = jobs.value
                let (q, context, scores) = shared.value
                let g = job / heads, h = job % heads
                let si: Int, qRow: Int, count: Int, qStart: Int
                if let queryRows {
                    let r = queryRows[g]
                    si = rowSegment[r]; qRow = g; count = 1; qStart = keyPrefix[si] + (r - segments[si].start)
                } else {
                    si = g; qRow = segments[g].start; count = segments[g].length; qStart = keyPrefix[si]
                }
                let offset = h * hd
                attentionHead(q: q + qRow * d + offset, ldq: d, nq: count, qStart: qStart,
                              k: kb + keyStarts[si] * d + offset, v: vb + keyStarts[si] * d + offset, ldkv: d,
                              nk: keyPrefix[si] + segments[si].length, headDim: hd, scale: scale, causal: causal,
                              scores: scores + thread * maxKeys, output: context + qRow * d + offset, ldo: d)
            }

            // Residual stream for the rows that continue: all of `hidden`, or the kept rows compacted in `output`.
            let stream: UnsafeMutablePointer<Float>
            if let queryRows, let output {
                for (i, r) in queryRows.enumerated() { (output + i * d).update(from: hidden + r * d, count: d) }
                stream = output
            } else {
                stream = hidden
            }
            try layer.self_attn.out_proj(ws.context, rows: nq, output: stream, accumulate: true)
            // stream = stream + fc2(act(fc1(layer_norm2(stream))))
            layer.layer_norm2(stream, rows: nq, output: ws.normed)
            try layer.mlp.fc1(ws.normed, rows: nq, output: ws.mlp, activation: shape.activation)
            try layer.mlp.fc2(ws.mlp, rows: nq, output: stream, accumulate: true)
        }
        if keep == nil, let output, output != hidden {
            output.update(from: hidden, count: tokens * d)
        }
    }
}
