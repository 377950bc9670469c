import XCTest
@testable import Compute

/// The column-layout operations equal their row-layout counterparts on transposed data.
final class ColumnLayoutTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
    }

    func transposed(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = x[r * cols + c] } }
        return out
    }

    /// Column counts around the 16-column blocks, where up to 4 leftover columns take the transposed product.
    func testLinearColumnsAtEveryBlockRemainder() throws {
        let inF = 40, outF = 24
        let w = random(outF * inF, seed: 21), b = random(outF, seed: 22)
        for cols in [1, 4, 15, 16, 17, 18, 20, 21, 31, 35, 49, 50, 100, 129, 130, 145] {
            let x = random(cols * inF, seed: UInt64(cols))
            var rows = [Float](repeating: 0, count: cols * outF)
            try linear(x, rows: cols, inFeatures: inF, weight: w, bias: b, outFeatures: outF, output: &rows)
            let xT = transposed(x, rows: cols, cols: inF)
            for accumulate in [false, true] {
                let start = random(outF * cols, seed: 99)
                var out = accumulate ? start : [Float](repeating: .nan, count: outF * cols)
                try linearColumns(xT, cols: cols, inFeatures: inF, weight: w, bias: b, outFeatures: outF,
                                  accumulate: accumulate, output: &out)
                let expected = transposed(rows, rows: cols, cols: outF)
                for i in out.indices {
                    XCTAssertEqual(out[i], expected[i] + (accumulate ? start[i] : 0), accuracy: 1e-5,
                                   "cols \(cols), accumulate \(accumulate), index \(i)")
                }
            }
            // The input stored one row per column (as image patches are), no bias.
            var byColumn = [Float](repeating: .nan, count: outF * cols)
            try weightTimesColumns(w, rows: outF, inner: inF, x, cols: cols, inputByColumn: true, output: &byColumn)
            var plain = [Float](repeating: 0, count: cols * outF)
            try linear(x, rows: cols, inFeatures: inF, weight: w, bias: nil, outFeatures: outF, output: &plain)
            for (a, e) in zip(byColumn, transposed(plain, rows: cols, cols: outF)) {
                XCTAssertEqual(a, e, accuracy: 1e-5, "cols \(cols), input by column")
            }
        }
    }

    func testLinearLayerNormAndInt8() throws {
        let tokens = 13, inF = 24, outF = 40
        let x = random(tokens * inF, seed: 1), w = random(outF * inF, seed: 2), b = random(outF, seed: 3)
        for act in [Activation.none, .quickGELU, .gelu] {
            var rows = [Float](repeating: 0, count: tokens * outF)
            try linear(x, rows: tokens, inFeatures: inF, weight: w, bias: b, outFeatures: outF, activation: act, output: &rows)
            var cols = random(outF * tokens, seed: 4)
            try linearColumns(transposed(x, rows: tokens, cols: inF), cols: tokens, inFeatures: inF, weight: w, bias: b,
                              outFeatures: outF, activation: act, output: &cols)
            for (a, e) in zip(transposed(cols, rows: outF, cols: tokens), rows) { XCTAssertEqual(a, e, accuracy: 1e-5) }
        }
        // Residual accumulation.
        let start = random(outF * tokens, seed: 5)
        var acc = start
        try linearColumns(transposed(x, rows: tokens, cols: inF), cols: tokens, inFeatures: inF, weight: w, bias: b,
                          outFeatures: outF, accumulate: true, output: &acc)
        var plain = [Float](repeating: 0, count: outF * tokens)
        try linearColumns(transposed(x, rows: tokens, cols: inF), cols: tokens, inFeatures: inF, weight: w, bias: b,
                          outFeatures: outF, output: &plain)
        for i in acc.indices { XCTAssertEqual(acc[i], start[i] + plain[i], accuracy: 1e-5) }

        // Layer norm over columns, with widths that are not a multiple of 8.
        for cols in [1, 7, 8, 13, 33] {
            let m = random(inF * cols, seed: UInt64(cols)), g = random(inF, seed: 6), beta = random(inF, seed: 7)
            var byRows = [Float](repeating: 0, count: m.count)
            layerNorm(transposed(m, rows: inF, cols: cols), rows: cols, dim: inF, weight: g, bias: beta, eps: 1e-5, output: &byRows)
            var byCols = [Float](repeating: 0, count: m.count)
            layerNormColumns(m, dim: inF, cols: cols, weight: g, bias: beta, eps: 1e-5, output: &byCols)
            for (a, e) in zip(transposed(byCols, rows: inF, cols: cols), byRows) { XCTAssertEqual(a, e, accuracy: 1e-5) }
        }

        // int8 in both layouts gives the same values.
        let q = Int8Weight(weight: w, outFeatures: outF, inFeatures: inF)
        var r8 = [Float](repeating: 0, count: tokens * outF)
        try linearInt8(x, rows: tokens, weight: q, bias: b, activation: .quickGELU, output: &r8)
        var c8 = [Float](repeating: 0, count: tokens * outF)
        try linearInt8Columns(transposed(x, rows: tokens, cols: inF), cols: tokens, weight: q, bias: b,
                              activation: .quickGELU, output: &c8)
        for (a, e) in zip(transposed(c8, rows: outF, cols: tokens), r8) { XCTAssertEqual(a, e, accuracy: 1e-5) }
    }

    func testAttentionHeadColumnsWithAPrefixRange() throws {
        // (head width, prefix keys, own tokens, causal): one query block and several (24 queries per block),
        // widths with and without a 4-feature tail, and the per-query path for fewer than 4 queries.
        let cases: [(Int, Int, Int, Bool)] = [
            (16, 5, 6, true), (64, 0, 50, false), (64, 0, 50, true), (18, 3, 30, true), (8, 7, 2, true),
            (64, 1, 257, false), (12, 4, 9, false), (64, 0, 1, false),
            (1, 0, 37, false), (5, 4, 48, true), (7, 0, 73, true), (80, 7, 72, true), (96, 2, 25, true),
        ]
        for (hd, prefix, own, causal) in cases {
            try checkAttentionColumns(hd: hd, prefix: prefix, own: own, causal: causal)
        }
    }

    /// The own tokens' queries attend to `prefix` keys then their own; compared with the row-layout kernel.
    private func checkAttentionColumns(hd: Int, prefix: Int, own: Int, causal: Bool) throws {
        let total = prefix + own
        let q = random(total * hd, seed: 11), k = random(total * hd, seed: 12), v = random(total * hd, seed: 13)
        var expected = [Float](repeating: 0, count: total * hd)
        var scores = [Float](repeating: 0, count: total * total)
        try attention(q: q, k: k, v: v, ld: hd, seqLength: total, numHeads: 1, headDim: hd, causal: causal,
                      scores: &scores, output: &expected, ldOutput: hd)
        // Column layout with the own tokens first and the prefix after, to exercise the two key ranges.
        let order = Array(prefix..<total) + Array(0..<prefix)
        func columns(_ m: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: m.count)
            for (col, token) in order.enumerated() { for c in 0..<hd { out[c * total + col] = m[token * hd + c] } }
            return out
        }
        let qT = columns(q), kT = columns(k), vT = columns(v)
        var outT = [Float](repeating: .nan, count: total * hd)
        var scratch = [Float](repeating: .nan, count: attentionHeadColumnsScratch(queries: own, keys: total, headDim: hd))
        attentionHeadColumns(q: qT, ldq: total, qCol: 0, nq: own, qStart: prefix, k: kT, v: vT, ldkv: total,
                             keyRanges: (own..<total, 0..<own), headDim: hd, scale: 1 / Float(hd).squareRoot(),
                             causal: causal, scratch: &scratch, output: &outT, ldo: total)
        var worst: Float = 0
        for i in 0..<own {
            for c in 0..<hd { worst = max(worst, abs(outT[c * total + i] - expected[(prefix + i) * hd + c])) }
        }
        XCTAssertLessThan(worst, 1e-5, "hd \(hd), prefix \(prefix), own \(own), causal \(causal)")
        // The prefix columns of the output are not the queries' and stay untouched.
        for i in own..<total { for c in 0..<hd { XCTAssertTrue(outT[c * total + i].isNaN) } }
    }
}
