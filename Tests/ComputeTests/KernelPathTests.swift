import XCTest
@testable import Compute

/// Every code path of the column-layout kernels this CPU has gives the portable path's values, up to float
/// rounding; the AVX-512 layer norm gives exactly the AVX2 one's (same operations per column).
final class KernelPathTests: XCTestCase {
    override func tearDown() {
        KernelPath.limit(to: .avx512)
    }

    func random(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 4001 - 2000) / 500
        }
    }

    /// Runs `body` on each path this machine has, the portable one first.
    func onEachPath(_ body: (KernelPath) throws -> [Float]) rethrows -> [(KernelPath, [Float])] {
        let paths = KernelPath.allCases.filter { $0 <= KernelPath.available }
        return try paths.map { path in
            XCTAssertEqual(KernelPath.limit(to: path), path)
            return (path, try body(path))
        }
    }

    func assertClose(_ results: [(KernelPath, [Float])], tolerance: Float, _ what: String) {
        guard let reference = results.first?.1 else { return XCTFail("no path ran") }
        for (path, values) in results.dropFirst() {
            XCTAssertEqual(values.count, reference.count)
            var worst: Float = 0
            for (a, e) in zip(values, reference) {
                XCTAssertFalse(a.isNaN, "\(what), \(path): NaN")
                worst = max(worst, abs(a - e) / max(1, abs(e)))
            }
            XCTAssertLessThanOrEqual(worst, tolerance, "\(what), \(path) against portable")
        }
    }

    func testPathsAreDetected() {
        XCTAssertEqual(KernelPath.current, KernelPath.available)
        #if arch(x86_64)
        XCTAssertGreaterThanOrEqual(KernelPath.available, .avx2, "x86-64 machines here all have AVX2")
        #endif
        XCTAssertEqual(KernelPath.limit(to: .portable), .portable)
        XCTAssertEqual(KernelPath.current, .portable)
        KernelPath.limit(to: .avx512)
        XCTAssertEqual(KernelPath.current, KernelPath.available)
    }

    func testLayerNormColumnsOnEveryPath() {
        let dim = 37
        for cols in [1, 7, 8, 15, 16, 17, 24, 31, 33, 50, 257] {
            let x = random(dim * cols, seed: UInt64(cols)), g = random(dim, seed: 5), b = random(dim, seed: 6)
            let results = onEachPath { _ in
                var y = [Float](repeating: .nan, count: x.count)
                layerNormColumns(x, dim: dim, cols: cols, weight: g, bias: b, eps: 1e-5, output: &y)
                return y
            }
            assertClose(results, tolerance: 1e-5, "layer norm, \(cols) columns")
            let byPath = Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.1) })
            if let a = byPath[.avx2], let b = byPath[.avx512] { XCTAssertEqual(a, b, "\(cols) columns") }
        }
    }

    func testBiasActivationOnEveryPath() {
        let rows = 9
        for activation in [Activation.none, .quickGELU, .gelu, .geluTanh, .relu] {
            for cols in [1, 5, 8, 16, 17, 31, 32, 33, 50] {
                let x = random(rows * cols, seed: UInt64(cols) + 100), bias = random(rows, seed: 7)
                let results = onEachPath { _ in
                    var y = x
                    rowBiasActivation(&y, rows: rows, cols: cols, bias: bias, activation: activation)
                    return y
                }
                assertClose(results, tolerance: 2e-6, "\(activation), \(cols) columns")
            }
        }
    }

    /// Inputs whose exp overflows float32 (QuickGELU of x below about -52 takes exp(-1.702 x) > 88.72): expf
    /// gives +inf there, so the portable path, like torch's `x * sigmoid(1.702 x)`, gives -0 (NaN for -inf); the
    /// SIMD paths once clamped exp to a finite value and gave -1.25 for -3e38. Both kernels, every path.
    func testBiasActivationOfExtremeInputsOnEveryPath() {
        let extremes: [Float] = [-.infinity, -3e38, -1e30, -1e10, -1000, -100, -60, -52, 52, 100, 1e10, 3e38, .infinity]
        // Each value fills a whole row, so that every lane and the tails see it.
        let cols = 37
        let x = extremes.flatMap { Array(repeating: $0, count: cols) }
        for activation in [Activation.quickGELU, .gelu, .geluTanh] {
            let biasPerRow = onEachPath { _ in
                var y = x
                y.withUnsafeMutableBufferPointer { rowBiasActivation($0.baseAddress!, rows: extremes.count, cols: cols,
                                                                     bias: nil, activation: activation) }
                return y
            }
            let biasPerColumn = onEachPath { _ in
                var y = x
                y.withUnsafeMutableBufferPointer { addBiasActivation($0.baseAddress!, rows: extremes.count, cols: cols,
                                                                     bias: nil, activation: activation) }
                return y
            }
            for results in [biasPerRow, biasPerColumn] {
                guard let reference = results.first?.1 else { return XCTFail("no path ran") }
                for (path, values) in results.dropFirst() {
                    for (i, (a, e)) in zip(values, reference).enumerated() {
                        let input = extremes[i / cols]
                        if e.isNaN {
                            XCTAssertTrue(a.isNaN, "\(activation)(\(input)), \(path): \(a), portable NaN")
                        } else if a != e {
                            XCTAssertLessThanOrEqual(abs(a - e), 2e-6 * max(1, abs(e)),
                                                     "\(activation)(\(input)), \(path): \(a), portable \(e)")
                        }
                    }
                }
            }
        }
    }

    func testAttentionColumnsOnEveryPath() {
        // (head width, keys before the queries, queries, causal): 1-3 vectors of 16 lanes, blocks of 48 and the
        // tails of both tile sizes.
        let cases: [(Int, Int, Int, Bool)] = [
            (64, 0, 50, false), (64, 0, 50, true), (16, 5, 12, true), (7, 3, 13, false), (96, 2, 48, true),
            (80, 0, 49, true), (64, 1, 257, false), (5, 0, 97, true), (64, 0, 16, false), (13, 4, 33, false),
        ]
        for (hd, prefix, own, causal) in cases {
            let total = prefix + own
            let q = random(total * hd, seed: 11), k = random(total * hd, seed: 12), v = random(total * hd, seed: 13)
            let results = onEachPath { _ in
                var out = [Float](repeating: .nan, count: total * hd)
                var scratch = [Float](repeating: .nan,
                                      count: attentionHeadColumnsScratch(queries: own, keys: total, headDim: hd))
                attentionHeadColumns(q: q, ldq: total, qCol: prefix, nq: own, qStart: prefix, k: k, v: v, ldkv: total,
                                     keyRanges: (0..<prefix, prefix..<total), headDim: hd,
                                     scale: 1 / Float(hd).squareRoot(), causal: causal, scratch: &scratch,
                                     output: &out, ldo: total)
                // Only the queries' columns are written.
                return (0..<hd).flatMap { c in (prefix..<total).map { out[c * total + $0] } }
            }
            assertClose(results, tolerance: 1e-5, "attention hd \(hd), prefix \(prefix), \(own) queries, causal \(causal)")
        }
    }
}
