import Compute
import XCTest
@testable import CLIP
@testable import Layers

/// int8 is an approximation of float32 within a stated bound; thread counts and GEMM layouts only change rounding.
final class PrecisionAndThreadsTests: XCTestCase {
    func pixelValues(_ model: CLIPModel, batch: Int) -> [Float] {
        let n = batch * 3 * model.imageSize * model.imageSize
        var state: UInt64 = 0x9E3779B97F4A7C15
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2000 - 1000) / 500  // roughly normalised pixel values in [-2, 2)
        }
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testInt8ImageEmbeddingsStayClose() throws {
        for name in ["tiny-p8-quickgelu", "tiny-p16-gelu", "tiny-f16"] {
            let dir = modelsDirectory.appendingPathComponent(name)
            let fp32 = try CLIPModel(directory: dir)
            let int8 = try CLIPModel(directory: dir, precision: .int8)
            XCTAssertEqual(int8.precision, .int8)
            let pixels = pixelValues(fp32, batch: 3)
            let a = try fp32.imageEmbeddings(pixelValues: pixels, batchSize: 3)
            let b = try int8.imageEmbeddings(pixelValues: pixels, batchSize: 3)
            for (x, y) in zip(a, b) {
                let c = cosine(x, y)
                XCTAssertGreaterThanOrEqual(c, 0.99, name)
                XCTAssertLessThan(c, 0.999_999, "\(name): int8 should not be identical to float32 (was it used?)")
            }
            let ids: [[Int32]] = [[1512, 40, 300, 7, 1513], [1512, 40, 300, 9, 22, 1513]]
            for (x, y) in zip(try fp32.textEmbeddings(inputIds: ids), try int8.textEmbeddings(inputIds: ids)) {
                XCTAssertGreaterThanOrEqual(cosine(x, y), 0.99, name)
            }
        }
    }

    func testThreadCountOnlyChangesRounding() throws {
        let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent("tiny-p16-gelu"))
        let pixels = pixelValues(model, batch: 2)
        let ids: [[Int32]] = [[1512, 40, 300, 7, 1513], [1512, 40, 300, 9, 22, 1513], [1512, 5, 1513]]
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        var images: [[[Float]]] = [], texts: [[[Float]]] = []
        for threads in [1, 2, 3] {
            ComputeThreads.set(threads)
            images.append(try model.imageEmbeddings(pixelValues: pixels, batchSize: 2))
            texts.append(try model.textEmbeddings(inputIds: ids))
        }
        for run in 1..<images.count {
            for (a, b) in zip(images[0], images[run]) { for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) } }
            for (a, b) in zip(texts[0], texts[run]) { for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) } }
        }
    }
}
