import Foundation
import XCTest

@testable import CLIP
@testable import Layers

/// Optional check on a full-size checkpoint written by Tools/reference/full_size_checkpoint.py (not committed):
/// `ZEROSHOT_FULL_CHECKPOINT=DIR [ZEROSHOT_FULL_GOLDEN=GOLDEN_DIR] swift test -c release -Xswiftc -enable-testing
/// --filter CLIPFullSizeTests`. Skipped when the variable is unset.
final class CLIPFullSizeTests: XCTestCase {
    func testFullSizeCheckpoint() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["ZEROSHOT_FULL_CHECKPOINT"] else {
            throw XCTSkip("set ZEROSHOT_FULL_CHECKPOINT to a full-size checkpoint directory")
        }
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var model: CLIPModel!
        let load = try seconds { model = try CLIPModel(directory: URL(fileURLWithPath: path)) }
        let side = model.imageSize
        var seed: UInt64 = 7
        let pixels = (0..<(3 * side * side)).map { _ -> Float in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(seed >> 11) / Double(1 << 53)) * 4 - 2
        }
        let texts: [[Int32]] = [[49406, 320, 1125, 539, 320, 2368, 269, 49407], [49406, 320, 1125, 539, 320, 1929, 49407],
                                [49406, 320, 22697, 49407], [49406] + [Int32](repeating: 320, count: 75) + [49407]]
        var imageTimes: [Double] = [], textTimes: [Double] = []
        for _ in 0..<3 {
            imageTimes.append(try seconds { _ = try model.imageEmbeddings(pixelValues: pixels, batchSize: 1) })
            textTimes.append(try seconds { _ = try model.textEmbeddings(inputIds: texts) })
        }
        print(String(format: "full-size: load %.3f s; 1 image embedding %.3f s (first %.3f s); 4 text embeddings %.3f s (first %.3f s)",
                     load, imageTimes.dropFirst().min()!, imageTimes[0], textTimes.dropFirst().min()!, textTimes[0]))

        guard let goldenDir = env["ZEROSHOT_FULL_GOLDEN"] else { return }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenDir + "/full-size.json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: goldenDir + "/" + golden.pixel_values_file))
        let goldenPixels: [Float] = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        let image = try model.imageEmbeddings(pixelValues: goldenPixels, batchSize: golden.pixel_values_shape[0])
        let text = try model.textEmbeddings(inputIds: golden.input_ids)
        let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
        let dI = maxAbsDiff(image, golden.image_embeds), dT = maxAbsDiff(text, golden.text_embeds)
        let dL = maxAbsDiff(logits, golden.logits_per_image)
        print("full-size parity: image_embeds \(dI), text_embeds \(dT), logits_per_image \(dL)")
        XCTAssertLessThanOrEqual(dI, 1e-4)
        XCTAssertLessThanOrEqual(dT, 1e-4)
        XCTAssertLessThanOrEqual(dL, 1e-2)
    }
}
