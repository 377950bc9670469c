import Foundation
import XCTest

@testable import Layers
@testable import SigLIP

/// Optional check on a full-size checkpoint written by Tools/reference/siglip_full_size.py (not committed):
/// `ZEROSHOT_SIGLIP_FULL_CHECKPOINT=DIR ZEROSHOT_SIGLIP_FULL_GOLDEN=GOLDEN_DIR swift test -c release
/// -Xswiftc -enable-testing --filter SiglipFullSizeTests`. Skipped when the variables are unset.
final class SiglipFullSizeTests: XCTestCase {
    struct Golden: Decodable {
        let pixel_values_file: String
        let pixel_values_shape: [Int]
        let input_ids: [[Int32]]
        let attention_mask: [[Int32]]
        let image_embeds: [[Float]]
        let text_embeds: [[Float]]
        let masked_text_embeds: [[Float]]
        let logits_per_image: [[Float]]
    }

    func testFullSizeCheckpoint() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["ZEROSHOT_SIGLIP_FULL_CHECKPOINT"], let goldenDir = env["ZEROSHOT_SIGLIP_FULL_GOLDEN"] else {
            throw XCTSkip("set ZEROSHOT_SIGLIP_FULL_CHECKPOINT and ZEROSHOT_SIGLIP_FULL_GOLDEN (Tools/reference/siglip_full_size.py)")
        }
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenDir + "/siglip-full-size.json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: goldenDir + "/" + golden.pixel_values_file))
        let pixels: [Float] = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var model: SiglipModel!
        let load = try seconds { model = try SiglipModel(directory: URL(fileURLWithPath: path)) }

        let image = try model.imageEmbeddings(pixelValues: pixels, batchSize: golden.pixel_values_shape[0])
        let text = try model.textEmbeddings(TextBatch(inputIds: golden.input_ids))
        let masked = try model.textEmbeddings(TextBatch(inputIds: golden.input_ids, attentionMask: golden.attention_mask))
        let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
        let dI = maxAbsDiff(image, golden.image_embeds), dT = maxAbsDiff(text, golden.text_embeds)
        let dM = maxAbsDiff(masked, golden.masked_text_embeds), dL = maxAbsDiff(logits, golden.logits_per_image)
        print("siglip full-size parity: image_embeds \(dI), text_embeds \(dT), masked text_embeds \(dM), logits_per_image \(dL)")
        XCTAssertLessThanOrEqual(dI, 1e-4)
        XCTAssertLessThanOrEqual(dT, 1e-4)
        XCTAssertLessThanOrEqual(dM, 1e-4)
        XCTAssertLessThanOrEqual(dL, 1e-2)

        let one = Array(pixels.prefix(pixels.count / golden.pixel_values_shape[0]))
        var imageTimes: [Double] = [], textTimes: [Double] = [], maskedTimes: [Double] = []
        let maskedBatch = TextBatch(inputIds: golden.input_ids, attentionMask: golden.attention_mask)
        for _ in 0..<5 {
            imageTimes.append(try seconds { _ = try model.imageEmbeddings(pixelValues: one, batchSize: 1) })
            textTimes.append(try seconds { _ = try model.textEmbeddings(TextBatch(inputIds: golden.input_ids)) })
            maskedTimes.append(try seconds { _ = try model.textEmbeddings(maskedBatch) })
        }
        func median(_ t: [Double]) -> Double { t.sorted()[t.count / 2] }
        print(String(format: "siglip full-size: load %.3f s; 1 image %.1f ms; 4 texts of 64 tokens %.1f ms, with their attention mask %.1f ms (medians of 5)",
                     load, median(imageTimes) * 1e3, median(textTimes) * 1e3, median(maskedTimes) * 1e3))

        // int8: the encoder layers quantized; embeddings stay close to float32's.
        let int8 = try SiglipModel(directory: URL(fileURLWithPath: path), precision: .int8)
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let qImage = try int8.imageEmbeddings(pixelValues: pixels, batchSize: golden.pixel_values_shape[0])
        let qText = try int8.textEmbeddings(TextBatch(inputIds: golden.input_ids))
        let cosines = zip(qImage + qText, image + text).map { cosine($0, $1) }
        var int8Image: [Double] = []
        for _ in 0..<5 { int8Image.append(try seconds { _ = try int8.imageEmbeddings(pixelValues: one, batchSize: 1) }) }
        print(String(format: "siglip full-size int8: 1 image %.1f ms; cosine to float32 min %.4f",
                     median(int8Image) * 1e3, cosines.min()!))
        XCTAssertGreaterThanOrEqual(cosines.min()!, 0.99)
    }
}
