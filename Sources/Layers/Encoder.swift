// The pre-norm transformer encoder of CLIP's and SigLIP's towers. Struct and field names follow the
// checkpoint's tensor paths (e.g. `encoder.layers.3.self_attn.q_proj.weight`), one line per tensor.
import Compute
import Foundation
import SafeTensors

/// The sizes a transformer encoder reads from a tower's config.
public protocol EncoderConfig {
    var hiddenSize: Int { get }
    var intermediateSize: Int { get }
    var numHiddenLayers: Int { get }
    var numAttentionHeads: Int { get }
    var hiddenAct: Activation { get }
    var layerNormEps: Float { get }
}

/// The sizes of an encoder, read from a tower's config.
package struct EncoderShape: Sendable {
    package let hiddenSize: Int
    package let intermediateSize: Int
    package let numLayers: Int
    package let numHeads: Int
    package let activation: Activation
    package let layerNormEps: Float
    package var headDim: Int { hiddenSize / numHeads }

    package init(_ c: some EncoderConfig) {
        hiddenSize = c.hiddenSize
        intermediateSize = c.intermediateSize
        numLayers = c.numHiddenLayers
        numHeads = c.numAttentionHeads
        activation = c.hiddenAct
        layerNormEps = c.layerNormEps
    }
}

/// Self-attention (`Attention`, `SiglipAttention`): `k_proj`, `v_proj`, `q_proj`, `out_proj`.
package struct Attention: Sendable {
    package let k_proj: Linear
    package let v_proj: Linear
    package let q_proj: Linear
    package let out_proj: Linear

    package init(_ w: WeightLoader, _ s: EncoderShape) throws {
        k_proj = try Linear(w.pp("k_proj"), in: s.hiddenSize, out: s.hiddenSize)
        v_proj = try Linear(w.pp("v_proj"), in: s.hiddenSize, out: s.hiddenSize)
        q_proj = try Linear(w.pp("q_proj"), in: s.hiddenSize, out: s.hiddenSize)
        out_proj = try Linear(w.pp("out_proj"), in: s.hiddenSize, out: s.hiddenSize)
    }
}

/// The MLP (`MLP`, `SiglipMLP`): `fc1`, `fc2`.
package struct MLP: Sendable {
    package let fc1: Linear
    package let fc2: Linear

    package init(_ w: WeightLoader, _ s: EncoderShape) throws {
        fc1 = try Linear(w.pp("fc1"), in: s.hiddenSize, out: s.intermediateSize)
        fc2 = try Linear(w.pp("fc2"), in: s.intermediateSize, out: s.hiddenSize)
    }
}

/// An encoder layer (`EncoderLayer`, `SiglipEncoderLayer`): pre-norm attention and MLP blocks with residual connections.
package struct EncoderLayer: Sendable {
    package let self_attn: Attention
    package let layer_norm1: LayerNorm
    package let mlp: MLP
    package let layer_norm2: LayerNorm

    package init(_ w: WeightLoader, _ s: EncoderShape) throws {
        self_attn = try Attention(w.pp("self_attn"), s)
        layer_norm1 = try LayerNorm(w.pp("layer_norm1"), dim: s.hiddenSize, eps: s.layerNormEps)
        mlp = try MLP(w.pp("mlp"), s)
        layer_norm2 = try LayerNorm(w.pp("layer_norm2"), dim: s.hiddenSize, eps: s.layerNormEps)
    }
}

/// A run of consecutive rows of the packed hidden-state matrix that form one sequence.
package struct Segment: Sendable {
    package let start: Int
    package let length: Int
    /// How many of the segment's leading columns serve as keys and values (all of them unless an attention mask
    /// hides the rest): the columns after them are queries only, as padded positions whose keys the mask hides
    /// (transformers' bidirectional attention mask applies to the keys; a padded position still attends).
    package let keys: Int
    /// The columns of another segment whose tokens precede this one's in its sequence (empty when none): this
    /// segment holds positions `prefix.count...` and attends to the prefix's keys and values before its own.
    /// With causal attention a prefix does not depend on what follows it, so sequences that start alike share
    /// one prefix segment exactly. A prefix segment has no prefix of its own.
    package let prefix: Range<Int>

    package init(start: Int, length: Int, keys: Int? = nil, prefix: Range<Int> = 0..<0) {
        self.start = start
        self.length = length
        self.keys = keys ?? length
        self.prefix = prefix.isEmpty ? 0..<0 : prefix
    }
}

/// Scratch buffers for one encoder pass; allocated once per call, sized for the pass.
package final class EncoderWorkspace {
    package let normed: UnsafeMutablePointer<Float>
    package let q: UnsafeMutablePointer<Float>
    package let k: UnsafeMutablePointer<Float>
    package let v: UnsafeMutablePointer<Float>
    package let context: UnsafeMutablePointer<Float>
    package let mlp: UnsafeMutablePointer<Float>
    package let stream: UnsafeMutablePointer<Float>
    /// Attention scratch, one slice per worker thread.
    package let scratch: UnsafeMutablePointer<Float>
    package let scratchPerThread: Int
    package let buffers: [UnsafeMutablePointer<Float>]

    package init(tokens: Int, maxQueries: Int, maxKeys: Int, threads: Int, shape s: EncoderShape) {
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

/// The encoder (`Encoder`, `SiglipEncoder`): `layers.0` ... `layers.{n-1}`.
package struct Encoder: Sendable {
    package let layers: [EncoderLayer]
    package let shape: EncoderShape

    package init(_ w: WeightLoader, _ s: EncoderShape) throws {
        layers = try (0..<s.numLayers).map { try EncoderLayer(w.pp("layers").pp(String($0)), s) }
        shape = s
    }

    /// Runs every layer on `hidden`, the hidden states in column layout (`[hiddenSize, tokens]`: one row per
    /// feature, one column per token; sequences packed as `segments` of consecutive columns), and writes the
    /// final states of the `keep` columns to `output` (`[keep.count, hiddenSize]`, one row per kept token).
    ///
    /// Only the kept tokens' final states are needed (the class token, the pooled token), so the last layer
    /// computes queries, attention output and MLP for them alone.
    ///
    /// Within a segment, queries attend to its first `keys` columns (all of them unless a mask hides padding).
    ///
    /// A segment with a `prefix` continues the sequence of that prefix segment (see `Segment.prefix`): several
    /// groups of sequences, each sharing its own prefix, run in one pass.
    package func callAsFunction(
        _ hidden: UnsafeMutablePointer<Float>, segments: [Segment], causal: Bool,
        keep: [Int], output: UnsafeMutablePointer<Float>
    ) throws {
        let tokens = segments.reduce(0) { $0 + $1.length }
        let d = shape.hiddenSize, heads = shape.numHeads, hd = shape.headDim
        if layers.isEmpty {
            // num_hidden_layers 0: the kept tokens' states are the input's.
            for (i, column) in keep.enumerated() { for f in 0..<d { output[i * d + f] = hidden[f * tokens + column] } }
            return
        }
        // Keys each segment sees before its own columns: those of its prefix segment, which has none itself.
        let keyPrefix = segments.map(\.prefix.count)
        let roots = Set(segments.lazy.filter(\.prefix.isEmpty).map { $0.start..<($0.start + $0.length) })
        precondition(segments.allSatisfy { $0.prefix.isEmpty || roots.contains($0.prefix) },
                     "a prefix must be a whole segment without a prefix")
        precondition(segments.allSatisfy { (0...$0.length).contains($0.keys) }, "keys must be within the segment")
        let maxKeys = zip(segments, keyPrefix).map { $0.keys + $1 }.max() ?? 0
        let maxQueries = segments.map(\.length).max() ?? 0
        let threads = ComputeThreads.count
        let ws = EncoderWorkspace(tokens: tokens, maxQueries: maxQueries, maxKeys: maxKeys, threads: threads,
                                  shape: shape)
        let scale = 1 / Float(hd).squareRoot()
        var rowSegment = [Int](repeating: 0, count: tokens)
        for (si, seg) in segments.enumerated() { for r in seg.start..<(seg.start + seg.length) { rowSegment[r] = si } }

        // When every column is kept in order (an attention-pooling head reads all of them), the last layer runs
        // like the others, segment by segment; pruning it to single queries would only repeat each segment's keys.
        let keepAll = keep.count == tokens && keep.elementsEqual(0..<tokens)
        for (li, layer) in layers.enumerated() {
            let last = li == layers.count - 1 && !keepAll
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
                    keyRanges: (seg.prefix, seg.start..<(seg.start + seg.keys)),
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
        if keepAll && !layers.isEmpty { transpose(hidden, rows: d, cols: tokens, output: output) }
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
