import Foundation
import XCTest

/// The repository's committed fixtures (Tests/Fixtures), located from this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

let modelsDirectory = fixturesDirectory.appendingPathComponent("models")

/// The Chinese-CLIP checkpoints Tools/reference/chinese_clip_fixtures.py writes.
let chineseCLIPCheckpoints = [
    "chinese-clip-full-f16", "chinese-clip-crop", "chinese-clip-odd", "chinese-clip-squash", "chinese-clip-no-layers",
]

/// Golden outputs of Tools/reference/chinese_clip_fixtures.py (transformers 5.24's ChineseCLIPModel, its PIL image
/// processor and the zero-shot-image-classification pipeline, float32).
struct ChineseCLIPGolden: Decodable {
    struct Prediction: Decodable {
        let label: String
        let score: Double
    }

    /// One pipeline call: an image, candidate labels and the hypothesis template.
    struct PipelineCase: Decodable {
        let image: String
        let labels: [String]
        let template: String
        let template_given: Bool
        let sequences: [String]
        let input_ids: [[Int32]]
        let logits: [Float]
        let predictions: [Prediction]
    }

    let checkpoint: String
    /// Image paths relative to Tests/Fixtures.
    let images: [String]
    let pixel_values_file: String
    let pixel_values_shape: [Int]
    let texts: [String]
    let input_ids: [[Int32]]
    let token_type_ids: [[Int32]]
    let model_input_names: [String]
    let pad_token_id: Int32
    let logit_scale: Float
    let unexpected_keys: [String]
    let image_embeds: [[Float]]
    let text_embeds: [[Float]]
    let logits_per_image: [[Float]]
    let image_flops_per_image: Int
    let pipeline: [PipelineCase]

    static func load(_ name: String) throws -> ChineseCLIPGolden {
        try JSONDecoder().decode(
            ChineseCLIPGolden.self, from: Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(name).json")))
    }

    /// pixel_values `[images, 3, S, S]`, flat.
    func pixelValues() throws -> [Float] {
        let raw = try Data(contentsOf: modelsDirectory.appendingPathComponent("golden/\(pixel_values_file)"))
        let values: [Float] = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
        XCTAssertEqual(values.count, pixel_values_shape.reduce(1, *))
        return values
    }
}

func maxAbsDiff(_ a: [[Float]], _ b: [[Float]]) -> Float {
    precondition(a.count == b.count && zip(a, b).allSatisfy { $0.count == $1.count }, "shape mismatch")
    return zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

/// Copies a committed checkpoint into `dir`.
func copyCheckpoint(_ name: String, to dir: URL) throws -> URL {
    let target = dir.appendingPathComponent(name)
    try FileManager.default.copyItem(at: modelsDirectory.appendingPathComponent(name), to: target)
    return target
}

func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: url)
}

/// Rewrites the header of a single-file safetensors checkpoint (the data is kept as it is).
func editSafeTensorsHeader(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
    let bytes = try Data(contentsOf: url)
    let headerLength = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
    var header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
    edit(&header)
    let newHeader = try JSONSerialization.data(withJSONObject: header)
    var out = Data()
    withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { out.append(contentsOf: $0) }
    out += newHeader + bytes.subdata(in: (8 + headerLength)..<bytes.count)
    try out.write(to: url)
}
