import CLIP
import Layers
import XCTest

/// logitsPerImage sums several texts at once (and spreads large inputs over threads); every logit must still be
/// `exp(logit_scale) · dot(image, text) + logit_bias` with `dot`'s own summation, bit for bit.
final class LogitsPerImageTests: XCTestCase {
    func testEqualsDotBitForBit() throws {
        let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent("tiny-p16-gelu"))
        let scale = exp(model.logitScale), bias = model.logitBias
        // Compute's dot: float products summed in Double in index order, over the shorter vector.
        func dot(_ a: [Float], _ b: [Float]) -> Float {
            var sum: Double = 0
            for i in 0..<min(a.count, b.count) { sum += Double(a[i]) * Double(b[i]) }
            return Float(sum)
        }
        var state: UInt64 = 7
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        // Text counts below, at and past a multiple of eight; 600 images x 20 texts x 512 runs on the threads.
        for (images, texts, d) in [(1, 1, 32), (3, 7, 32), (5, 8, 33), (2, 9, 512), (600, 20, 512), (40, 17, 1)] {
            let image = (0..<images).map { _ in (0..<d).map { _ in random() } }
            let text = (0..<texts).map { _ in (0..<d).map { _ in random() } }
            let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
            XCTAssertEqual(logits.count, images)
            for (m, row) in logits.enumerated() {
                XCTAssertEqual(row.map(\.bitPattern), text.map { (scale * dot(image[m], $0) + bias).bitPattern },
                               "image \(m) of \(images), \(texts) texts, D = \(d)")
            }
        }
        // Texts of different lengths, and no texts at all.
        let ragged = model.logitsPerImage(imageEmbeddings: [[1, 2, 3]], textEmbeddings: [[1, 1, 1], [2, 2]])
        XCTAssertEqual(ragged[0].map(\.bitPattern), [6, 6].map { (scale * $0 + bias).bitPattern })
        XCTAssertEqual(model.logitsPerImage(imageEmbeddings: [[1, 2]], textEmbeddings: []), [[]])
    }
}
