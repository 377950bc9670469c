import Foundation
import XCTest

@testable import ChineseCLIP
@testable import Layers

/// Optional check on a full-size checkpoint shaped like OFA-Sys/chinese-clip-vit-base-patch16, written by
/// Tools/reference/chinese_clip_full_size.py (not committed):
/// `ZEROSHOT_CNCLIP_FULL_CHECKPOINT=DIR ZEROSHOT_CNCLIP_FULL_GOLDEN=GOLDEN_DIR swift test -c release
/// -Xswiftc -enable-testing --filter ChineseCLIPFullSizeTests`. Skipped when the variables are unset.
final class ChineseCLIPFullSizeTests: XCTestCase {
    struct FullSizeGolden: Decodable {
        let pixel_values_file: String
        let pixel_values_shape: [Int]
        let input_ids: [[Int32]]
        let image_embeds: [[Float]]
        let text_embeds: [[Float]]
        let logits_per_image: [[Float]]
        let transformers_image_seconds: Double
        let transformers_text_seconds: Double
        let label_input_ids: [[Int32]]
        let transformers_labels_seconds: Double
        let torch_threads: Int
    }

    func testFullSizeCheckpoint() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["ZEROSHOT_CNCLIP_FULL_CHECKPOINT"], let goldenDir = env["ZEROSHOT_CNCLIP_FULL_GOLDEN"] else {
            throw XCTSkip("set ZEROSHOT_CNCLIP_FULL_CHECKPOINT and ZEROSHOT_CNCLIP_FULL_GOLDEN")
        }
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let golden = try JSONDecoder().decode(
            FullSizeGolden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenDir + "/chinese-clip-full-size.json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: goldenDir + "/" + golden.pixel_values_file))
        let pixels: [Float] = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        var model: ChineseCLIPModel!
        let load = try seconds { model = try ChineseCLIPModel(directory: URL(fileURLWithPath: path)) }
        XCTAssertEqual(model.unusedTensors, [])
        let perImage = 3 * model.imageSize * model.imageSize
        let one = Array(pixels[0..<perImage])
        var imageTimes: [Double] = [], textTimes: [Double] = [], labelTimes: [Double] = []
        for _ in 0..<4 {
            imageTimes.append(try seconds { _ = try model.imageEmbeddings(pixelValues: one, batchSize: 1) })
            textTimes.append(try seconds { _ = try model.textEmbeddings(inputIds: golden.input_ids) })
            labelTimes.append(try seconds { _ = try model.textEmbeddings(inputIds: golden.label_input_ids) })
        }
        print(String(format: "chinese-clip full-size: load %.3f s; 1 image %.3f s (transformers %.3f s); %d texts %.3f s "
                     + "(transformers %.3f s); %d labels %.3f s (transformers %.3f s); %d torch threads",
                     load, imageTimes.dropFirst().min()!, golden.transformers_image_seconds, golden.input_ids.count,
                     textTimes.dropFirst().min()!, golden.transformers_text_seconds, golden.label_input_ids.count,
                     labelTimes.dropFirst().min()!, golden.transformers_labels_seconds, golden.torch_threads))

        let image = try model.imageEmbeddings(pixelValues: pixels, batchSize: golden.pixel_values_shape[0])
        let text = try model.textEmbeddings(inputIds: golden.input_ids)
        let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
        let dI = maxAbsDiff(image, golden.image_embeds), dT = maxAbsDiff(text, golden.text_embeds)
        let dL = maxAbsDiff(logits, golden.logits_per_image)
        print("chinese-clip full-size parity: image_embeds \(dI), text_embeds \(dT), logits_per_image \(dL)")
        XCTAssertLessThanOrEqual(dI, 1e-4)
        XCTAssertLessThanOrEqual(dT, 1e-4)
        XCTAssertLessThanOrEqual(dL, 1e-2)

        // int8: an approximation, cosine to float32 at least 0.99.
        let int8 = try ChineseCLIPModel(directory: URL(fileURLWithPath: path), precision: .int8)
        var int8Image: [Double] = [], int8Labels: [Double] = []
        for _ in 0..<4 {
            int8Image.append(try seconds { _ = try int8.imageEmbeddings(pixelValues: one, batchSize: 1) })
            int8Labels.append(try seconds { _ = try int8.textEmbeddings(inputIds: golden.label_input_ids) })
        }
        let approximate = try int8.imageEmbeddings(pixelValues: pixels, batchSize: golden.pixel_values_shape[0])
            + int8.textEmbeddings(inputIds: golden.input_ids)
        let cosines = zip(approximate, golden.image_embeds + golden.text_embeds).map { a, b in
            zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        }
        print(String(format: "chinese-clip full-size int8: 1 image %.3f s, %d labels %.3f s, cosine to float32 >= %.4f",
                     int8Image.dropFirst().min()!, golden.label_input_ids.count, int8Labels.dropFirst().min()!,
                     cosines.min()!))
        XCTAssertGreaterThanOrEqual(cosines.min()!, 0.99)
    }
}
