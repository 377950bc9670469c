// Weight loading and the transformer encoder shared by both towers. Struct and field names follow the
// checkpoint's tensor paths (e.g. `encoder.layers.3.self_attn.q_proj.weight`), one line per tensor.
import Compute
import Foundation
import SafeTensors

/// Loads tensors under a name prefix, checking shapes; errors name the tensor and the expected/found shape.
/// Every name asked for is recorded in `read`, shared by the loaders of all sub-modules.
struct WeightLoader {
    let checkpoint: SafeTensorsCheckpoint
    let prefix: String
    var precision: Precision = .fp32
    let read: ReadNames

    /// The names asked for while a model is built (loading runs on one thread).
    final class ReadNames {
        var names: Set<String> = []
    }

    init(checkpoint: SafeTensorsCheckpoint, prefix: String = "", precision: Precision = .fp32,
         read: ReadNames = ReadNames()) {
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.precision = precision
        self.read = read
    }

    /// The loader for the sub-module `name` (`prefix.name.`).
    func pp(_ name: String) -> WeightLoader {
        WeightLoader(checkpoint: checkpoint, prefix: prefix + name + ".", precision: precision, read: read)
    }

    /// Drops the mapped pages of `prefix.name` from resident memory (see `SafeTensorsCheckpoint.releasePages`).
    func releasePages(_ name: String) {
        checkpoint.releasePages(prefix + name)
    }

    func get(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
        let full = prefix + name
        read.names.insert(full)
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

    /// The same over the columns of `x` `[dim, cols]` (column layout).
    func columns(_ x: UnsafePointer<Float>, cols: Int, output: UnsafeMutablePointer<Float>) {
        layerNormColumns(x, dim: dim, cols: cols, weight: weight.pointer, bias: bias.pointer, eps: eps, output: output)
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
    /// The weight as it runs: float32 (read in place from the mapping, or converted at load), or quantized to
    /// int8 at load (encoder layers when the loader asks for int8), in which case no float32 copy is kept.
    enum Weight: Sendable {
        case float32(FloatBuffer)
        case int8(Int8Weight)
    }

    let weight: Weight
    let bias: FloatBuffer?
    let inFeatures: Int
    let outFeatures: Int

    init(_ w: WeightLoader, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true,
         quantizable: Bool = true) throws {
        let float32 = try w.get("weight", [outFeatures, inFeatures])
        bias = hasBias ? try w.get("bias", [outFeatures]) : nil
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        if quantizable && w.precision == .int8 {
            weight = .int8(Int8Weight(weight: float32.pointer, outFeatures: outFeatures, inFeatures: inFeatures))
            // The int8 copy is what runs: a converted float32 copy is freed with `float32`, and mapped float32
            // pages leave resident memory (they stay in the page cache).
            w.releasePages("weight")
        } else {
            weight = .float32(float32)
        }
    }

    /// Row layout (one row per token): `output` `[rows, outFeatures]` from `x` `[rows, inFeatures]`.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) throws {
        switch weight {
        case .float32(let w):
            try linear(x, rows: rows, inFeatures: inFeatures, weight: w.pointer, bias: bias?.pointer,
                       outFeatures: outFeatures, output: output)
        case .int8(let q):
            try linearInt8(x, rows: rows, weight: q, bias: bias?.pointer, output: output)
        }
    }

    /// The same in column layout: `output` `[outFeatures, cols]` from `x` `[inFeatures, cols]`.
    func columns(
        _ x: UnsafePointer<Float>, cols: Int, output: UnsafeMutablePointer<Float>,
        activation: Activation = .none, accumulate: Bool = false
    ) throws {
        switch weight {
        case .float32(let w):
            try linearColumns(x, cols: cols, inFeatures: inFeatures, weight: w.pointer, bias: bias?.pointer,
                              outFeatures: outFeatures, activation: activation, accumulate: accumulate, output: output)
        case .int8(let q):
            try linearInt8Columns(x, cols: cols, weight: q, bias: bias?.pointer, activation: activation,
                                  accumulate: accumulate, output: output)
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

    init(_ c: some EncoderConfig) {
        hiddenSize = c.hiddenSize
        intermediateSize = c.intermediateSize
        numLayers = c.numHiddenLayers
        numHeads = c.numAttentionHeads
        activation = c.hiddenAct
        layerNormEps = c.layerNormEps
    }
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
    let stream: UnsafeMutablePointer<Float>
    /// Attention scratch, one slice per worker thread.
    let scratch: UnsafeMutablePointer<Float>
    let scratchPerThread: Int
    let buffers: [UnsafeMutablePointer<Float>]

    init(tokens: Int, maxQueries: Int, maxKeys: Int, threads: Int, shape s: EncoderShape) {
        func make(_ count: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(count, 1)) }
        let n = tokens * s.hiddenSize
        normed = make(n); q = make(n); k = make(n); v = make(n); context = make(n); stream = make(n)
        mlp = make(tokens * s.intermediateSize)
        scratchPerThread = attentionHeadColumnsScratch(queries: maxQueries, keys: maxKeys, headDim: s.headDim)
        scratch = make(threads * scratchPerThread)
        buffers = [normed, q, k, v, context, mlp, stream, scratch]
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

    /// Runs every layer on `hidden`, the hidden states in column layout (`[hiddenSize, tokens]`: one row per
    /// feature, one column per token; sequences packed as `segments` of consecutive columns), and writes the
    /// final states of the `keep` columns to `output` (`[keep.count, hiddenSize]`, one row per kept token).
    ///
    /// Only the kept tokens' final states are needed (the class token, the pooled token), so the last layer
    /// computes queries, attention output and MLP for them alone.
    ///
    /// `sharedPrefix`: when positive, `segments[0]` (columns `0..<sharedPrefix`) holds tokens that precede every
    /// other segment: those segments are positions `sharedPrefix...` of their sequences and attend to the prefix's
    /// keys and values before their own. With causal attention the prefix does not depend on what follows, so
    /// sequences that start alike (labels filled into one template) share it exactly.
    func callAsFunction(
        _ hidden: UnsafeMutablePointer<Float>, segments: [Segment], causal: Bool, sharedPrefix: Int = 0,
        keep: [Int], output: UnsafeMutablePointer<Float>
    ) throws {
        let tokens = segments.reduce(0) { $0 + $1.length }
        let d = shape.hiddenSize, heads = shape.numHeads, hd = shape.headDim
        let p = sharedPrefix
        precondition(p == 0 || (segments.first?.start == 0 && segments.first?.length == p), "prefix must be segment 0")
        // Keys each segment sees before its own columns.
        let keyPrefix = segments.indices.map { p > 0 && $0 > 0 ? p : 0 }
        let maxKeys = zip(segments, keyPrefix).map { $0.length + $1 }.max() ?? 0
        let maxQueries = segments.map(\.length).max() ?? 0
        let threads = ComputeThreads.count
        let ws = EncoderWorkspace(tokens: tokens, maxQueries: maxQueries, maxKeys: maxKeys, threads: threads,
                                  shape: shape)
        let scale = 1 / Float(hd).squareRoot()
        var rowSegment = [Int](repeating: 0, count: tokens)
        for (si, seg) in segments.enumerated() { for r in seg.start..<(seg.start + seg.length) { rowSegment[r] = si } }

        for (li, layer) in layers.enumerated() {
            let last = li == layers.count - 1
            // Columns that go on through this layer: all tokens, or (last layer) the kept ones, gathered.
            let n = last ? keep.count : tokens

            layer.layer_norm1.columns(hidden, cols: tokens, output: ws.normed)
            try layer.self_attn.k_proj.columns(ws.normed, cols: tokens, output: ws.k)
            try layer.self_attn.v_proj.columns(ws.normed, cols: tokens, output: ws.v)
            if n == 0 { break }
            let stream: UnsafeMutablePointer<Float>
            if last {
                gatherColumns(ws.normed, rows: d, cols: tokens, keep, into: ws.context)
                try layer.self_attn.q_proj.columns(ws.context, cols: n, output: ws.q)
                gatherColumns(hidden, rows: d, cols: tokens, keep, into: ws.stream)
                stream = ws.stream
            } else {
                try layer.self_attn.q_proj.columns(ws.normed, cols: tokens, output: ws.q)
                stream = hidden
            }

            // Attention, one job per (query group, head): a whole segment, or one kept token.
            let groups = last ? keep.count : segments.count
            let buffers = UncheckedSendable((ws.q, ws.k, ws.v, ws.context, ws.scratch))
            let scratchPerThread = ws.scratchPerThread
            ComputeThreads.parallelFor(groups * heads) { job, thread in
                let (q, k, v, context, scratch) = buffers.value
                let g = job / heads, h = job % heads
                let si: Int, qCol: Int, count: Int, qStart: Int
                if last {
                    let r = keep[g]
                    si = rowSegment[r]; qCol = g; count = 1; qStart = keyPrefix[si] + (r - segments[si].start)
                } else {
                    si = g; qCol = segments[g].start; count = segments[g].length; qStart = keyPrefix[si]
                }
                let seg = segments[si]
                let offset = h * hd
                attentionHeadColumns(
                    q: q + offset * n, ldq: n, qCol: qCol, nq: count, qStart: qStart,
                    k: k + offset * tokens, v: v + offset * tokens, ldkv: tokens,
                    keyRanges: (0..<keyPrefix[si], seg.start..<(seg.start + seg.length)),
                    headDim: hd, scale: scale, causal: causal,
                    scratch: scratch + thread * scratchPerThread, output: context + offset * n, ldo: n)
            }

            // stream = stream + out_proj(context); stream = stream + fc2(act(fc1(layer_norm2(stream))))
            try layer.self_attn.out_proj.columns(ws.context, cols: n, output: stream, accumulate: true)
            layer.layer_norm2.columns(stream, cols: n, output: ws.normed)
            try layer.mlp.fc1.columns(ws.normed, cols: n, output: ws.mlp, activation: shape.activation)
            try layer.mlp.fc2.columns(ws.mlp, cols: n, output: stream, accumulate: true)
            if last { transpose(stream, rows: d, cols: n, output: output) }
        }
    }

    /// `into[f, i] = x[f, columns[i]]` for a `[rows, cols]` matrix.
    private func gatherColumns(_ x: UnsafePointer<Float>, rows: Int, cols: Int, _ columns: [Int],
                               into: UnsafeMutablePointer<Float>) {
        let n = columns.count
        for f in 0..<rows {
            let src = x + f * cols, dst = into + f * n
            for (i, c) in columns.enumerated() { dst[i] = src[c] }
        }
    }
}
