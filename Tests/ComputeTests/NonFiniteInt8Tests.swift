import XCTest
@testable import Compute

/// A checkpoint's weights can be anything: infinite or NaN weights and the activations they give go through the
/// int8 path as through float32 (non-finite outputs), never a trap. Activations reaching -infinity made the zero
/// point NaN, and converting it to an integer stopped the process; the C kernels converted NaN to integers, which
/// is undefined.
final class NonFiniteInt8Tests: XCTestCase {
    override func tearDown() {
        KernelPath.limit(to: .avx512)
    }

    func testNonFiniteWeightsAndActivations() throws {
        for path in KernelPath.allCases where path <= KernelPath.available {
            XCTAssertEqual(KernelPath.limit(to: path), path)
            // weight [2, 3]: a row with an infinite weight and one with a NaN weight.
            let weight: [Float] = [1, -.infinity, 0.5, .nan, 0.25, 1]
            let quantized = weight.withUnsafeBufferPointer {
                Int8Weight(weight: $0.baseAddress!, outFeatures: 2, inFeatures: 3)
            }
            // input [2, 3]: a row reaching -infinity, a finite row.
            let input: [Float] = [-.infinity, 2, 3, 0.5, -1, 2]
            var output = [Float](repeating: 0, count: 4)
            try input.withUnsafeBufferPointer { input in
                try output.withUnsafeMutableBufferPointer { output in
                    try linearInt8(input.baseAddress!, rows: 2, weight: quantized, bias: nil,
                                   output: output.baseAddress!)
                }
            }
            XCTAssertTrue(output.contains { !$0.isFinite }, "\(path): \(output)")
            var codes = [UInt8](repeating: 0, count: 6)
            let (scale, zeroPoint) = input.withUnsafeBufferPointer { input in
                codes.withUnsafeMutableBufferPointer {
                    quantizeActivations(input.baseAddress!, rows: 2, cols: 3, into: $0.baseAddress!)
                }
            }
            XCTAssertEqual(scale, .infinity, "\(path)")
            XCTAssertEqual(zeroPoint, 0, "\(path)")
        }
    }
}
