import Foundation
import XCTest

@testable import Compute

/// Straightforward reference implementations in Double.
enum Naive {
    static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transB: Bool) -> [Float] {
        (0..<(m * n)).map { idx in
            let i = idx / n, j = idx % n
            var s: Double = 0
            for p in 0..<k { s += Double(a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j]) }
            return Float(s)
        }
    }

    static func attention(q: [Float], k: [Float], v: [Float], seq: Int, heads: Int, headDim: Int,
                          causal: Bool, keep: [Bool]?) -> [Float] {
        let d = heads * headDim
        var out = [Float](repeating: 0, count: seq * d)
        for h in 0..<heads {
            for i in 0..<seq {
                var scores = [Double](repeating: -.infinity, count: seq)
                for j in 0..<seq where !(causal && j > i) && (keep?[j] ?? true) {
                    var s: Double = 0
                    for t in 0..<headDim { s += Double(q[i * d + h * headDim + t]) * Double(k[j * d + h * headDim + t]) }
                    scores[j] = s / Double(headDim).squareRoot()
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for t in 0..<headDim {
                    var s: Double = 0
                    for j in 0..<seq { s += e[j] / z * Double(v[j * d + h * headDim + t]) }
                    out[i * d + h * headDim + t] = Float(s)
                }
            }
        }
        return out
    }
}

func random(_ n: Int, seed: inout UInt64) -> [Float] {
    (0..<n).map { _ in
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return Float(Double(seed >> 11) / Double(1 << 53)) * 2 - 1
    }
}

func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

final class ComputeTests: XCTestCase {
    func testSgemmAllTransposes() throws {
        var seed: UInt64 = 1
        let m = 7, n = 5, k = 9
        let a = random(m * k, seed: &seed), b = random(k * n, seed: &seed)
        let expected = Naive.matmul(a, b, m: m, n: n, k: k, transB: false)
        // Stored transposes of a and b.
        let aT = (0..<(k * m)).map { a[($0 % m) * k + $0 / m] }
        let bT = (0..<(n * k)).map { b[($0 % k) * n + $0 / k] }
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            var c = [Float](repeating: 0, count: m * n)
            try (ta ? aT : a).withUnsafeBufferPointer { ap in
                try (tb ? bT : b).withUnsafeBufferPointer { bp in
                    try c.withUnsafeMutableBufferPointer { cp in
                        try sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ap.baseAddress!, lda: ta ? m : k,
                                  b: bp.baseAddress!, ldb: tb ? k : n, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            XCTAssertLessThan(maxDiff(c, expected), 1e-5, "transA \(ta) transB \(tb)")
        }
    }

    func testLinearWithBiasActivationAndAccumulate() throws {
        var seed: UInt64 = 2
        let rows = 4, inF = 6, outF = 3
        let x = random(rows * inF, seed: &seed), w = random(outF * inF, seed: &seed), bias = random(outF, seed: &seed)
        let base = Naive.matmul(x, w, m: rows, n: outF, k: inF, transB: true)
        for act in Activation.allCases {
            var out = [Float](repeating: 0, count: rows * outF)
            try linear(x, rows: rows, inFeatures: inF, weight: w, bias: bias, outFeatures: outF, activation: act, output: &out)
            let expected = base.enumerated().map { act.apply($0.element + bias[$0.offset % outF]) }
            XCTAssertLessThan(maxDiff(out, expected), 1e-5, "\(act)")
        }
        var residual = [Float](repeating: 1, count: rows * outF)
        try linear(x, rows: rows, inFeatures: inF, weight: w, bias: bias, outFeatures: outF, accumulate: true, output: &residual)
        XCTAssertLessThan(maxDiff(residual, base.enumerated().map { 1 + $0.element + bias[$0.offset % outF] }), 1e-5)
    }

    func testActivations() {
        // Values of transformers ACT2FN["gelu"], ["quick_gelu"], ["gelu_pytorch_tanh"] in torch float32.
        XCTAssertEqual(Activation.gelu.apply(1), 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(Activation.gelu.apply(-2), -0.04550026, accuracy: 1e-7)
        XCTAssertEqual(Activation.quickGELU.apply(1), 0.84579575, accuracy: 1e-6)
        XCTAssertEqual(Activation.quickGELU.apply(-3), -0.018071311, accuracy: 1e-7)
        XCTAssertEqual(Activation.geluTanh.apply(1), 0.8411920, accuracy: 1e-6)
        XCTAssertEqual(Activation.relu.apply(-1), 0)
        XCTAssertEqual(Activation(huggingFaceName: "gelu_new"), .geluTanh)
        XCTAssertNil(Activation(huggingFaceName: "silu"))
    }

    func testLayerNormAndSoftmax() {
        let x: [Float] = [1, 2, 3, 4, 10, 10, 10, 10]
        let w: [Float] = [1, 2, 1, 0.5], b: [Float] = [0, 1, 0, -1]
        var y = [Float](repeating: 0, count: 8)
        layerNorm(x, rows: 2, dim: 4, weight: w, bias: b, eps: 1e-5, output: &y)
        let rstd = 1 / (1.25 + 1e-5).squareRoot()
        let expected: [Float] = [Float(-1.5 * rstd), Float(2 * -0.5 * rstd + 1), Float(0.5 * rstd), Float(0.5 * 1.5 * rstd - 1),
                                 0, 1, 0, -1]
        XCTAssertLessThan(maxDiff(y, expected), 1e-6)

        var s: [Float] = [1, 2, 3, -.infinity, 1000, 1000, -.infinity, -.infinity]
        softmaxRows(&s, rows: 2, cols: 4)
        let e = [exp(-2.0), exp(-1.0), 1]
        let z = e.reduce(0, +)
        XCTAssertLessThan(maxDiff(Array(s[0..<4]), e.map { Float($0 / z) } + [0]), 1e-7)
        XCTAssertEqual(Array(s[4...]), [0.5, 0.5, 0, 0])
    }

    func testAttentionAgainstNaive() throws {
        var seed: UInt64 = 3
        let seq = 6, heads = 3, headDim = 4, d = heads * headDim
        let q = random(seq * d, seed: &seed), k = random(seq * d, seed: &seed), v = random(seq * d, seed: &seed)
        let keep = [true, true, false, true, true, false]
        for (causal, mask) in [(false, nil), (true, nil), (false, keep), (true, keep)] as [(Bool, [Bool]?)] {
            var out = [Float](repeating: .nan, count: seq * d)
            var scores = [Float](repeating: 0, count: seq * seq)
            if let mask {
                try mask.withUnsafeBufferPointer { m in
                    try attention(q: q, k: k, v: v, ld: d, seqLength: seq, numHeads: heads, headDim: headDim,
                                  causal: causal, keyPaddingMask: m.baseAddress, scores: &scores, output: &out, ldOutput: d)
                }
            } else {
                try attention(q: q, k: k, v: v, ld: d, seqLength: seq, numHeads: heads, headDim: headDim,
                              causal: causal, scores: &scores, output: &out, ldOutput: d)
            }
            let expected = Naive.attention(q: q, k: k, v: v, seq: seq, heads: heads, headDim: headDim, causal: causal, keep: mask)
            XCTAssertLessThan(maxDiff(out, expected), 1e-5, "causal \(causal) mask \(mask != nil)")
        }
        // Causal: the first query sees only the first key, so its output is v[0].
        var out = [Float](repeating: 0, count: seq * d)
        var scores = [Float](repeating: 0, count: seq * seq)
        try attention(q: q, k: k, v: v, ld: d, seqLength: seq, numHeads: heads, headDim: headDim,
                      causal: true, scores: &scores, output: &out, ldOutput: d)
        XCTAssertLessThan(maxDiff(Array(out[0..<d]), Array(v[0..<d])), 1e-6)
    }

    func testNormalizeAndDot() {
        let v = l2Normalized([3, 4])
        XCTAssertEqual(v, [0.6, 0.8])
        XCTAssertEqual(l2Normalized([0, 0]), [0, 0])
        XCTAssertEqual(dot([1, 2, 3], [4, 5, 6]), 32)
    }
}

final class ArithmeticPeakTests: XCTestCase {
    func testProbeDoesTheWorkItCounts() {
        let rounds = 1000
        let (flops, sum, chains) = ArithmeticPeak.probe(rounds: rounds, seed: 0.25)
        XCTAssertTrue([12, 16].contains(chains), "chains \(chains)")
        // chains x 2 operations x the vector width in floats (1 scalar, 4 NEON, 8 AVX2, 16 AVX-512).
        let lanes = flops / Double(rounds * chains * 2)
        XCTAssertTrue([1, 4, 8, 16].contains(lanes), "lanes \(lanes)")
        // Each chain's last value in closed form: a_R = b^R (a_0 - c / (1 - b)) + c / (1 - b).
        let (b, c) = (Double(Float(0.99999)), Double(Float(1e-6)))
        let fixed = c / (1 - b)
        let expected = (0..<chains).map { pow(b, Double(rounds)) * (0.25 + Double($0) - fixed) + fixed }.reduce(0, +)
        XCTAssertEqual(Double(sum), expected, accuracy: 1e-4 * expected)
    }

    func testPeakIsAPositiveRate() {
        let peak = ArithmeticPeak.fmaGFLOPs(trials: 2, seconds: 0.005)
        XCTAssertTrue(peak.isFinite && peak > 0, "\(peak)")
    }
}
