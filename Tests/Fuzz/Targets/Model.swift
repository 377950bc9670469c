#if DEBUG
import Foundation
import ImageIO
import Layers
import Models
@testable import SafeTensors

/// What the model-file harnesses share.
enum ModelFuzzing {
    /// Opens the weights of `directory` as a model load does (`model.safetensors`, else the sharded index) and reads
    /// every tensor as float32, checking each against its header entry.
    static func readEveryTensor(_ directory: URL) {
        guard let checkpoint = try? SafeTensorsCheckpoint.open(modelDirectory: directory) else { return }
        for name in checkpoint.names {
            guard let info = checkpoint.info(name), let file = checkpoint.file(containing: name) else {
                preconditionFailure("tensor \(name) is listed but has no entry")
            }
            precondition(info.byteRange.lowerBound >= 8 && info.byteRange.upperBound <= file.mapping.size,
                         "tensor \(name): bytes \(info.byteRange) outside the \(file.mapping.size)-byte file")
            if let size = info.dtype.byteSize {
                precondition(info.byteRange.count == info.elementCount * size, "tensor \(name): size mismatch")
            }
            guard let values = try? checkpoint.floats(name, shape: info.shape) else { continue }
            precondition(values.count == info.elementCount,
                         "tensor \(name): \(values.count) floats for \(info.elementCount) elements")
            // Touch every value (an address-sanitizer report if a view or a copy is short).
            var sum: Float = 0
            for i in 0..<values.count { sum += values.pointer[i] }
            _ = sum
        }
        _ = WeightLoader(checkpoint: checkpoint).unusedTensors()
    }

    /// A fixed 13 x 7 image with a transparent colour, preprocessed with each fuzzed config.
    static let image: RGBImage = {
        var pixels = (0..<(13 * 7 * 3)).map { UInt8(truncatingIfNeeded: $0 * 37) }
        pixels[0] = 1; pixels[1] = 2; pixels[2] = 3
        return RGBImage(width: 13, height: 7, pixels: pixels, transparentColor: RGBColor(red: 1, green: 2, blue: 3))
    }()

    /// A shard name of the index harness's inputs.
    static func shard(_ n: Int) -> String { "model-0000\(n)-of-00003.safetensors" }
}

extension FuzzTargets {
    static let model: [FuzzTarget] = [
        FuzzTarget("safetensors", parses: "a model.safetensors file: header length, JSON header, dtypes, shapes, offsets",
                   seeds: ["Tests/Fuzz/Seeds/safetensors/*"], dictionary: "safetensors.dict", maxLength: 65_536) { data in
            let directory = FuzzScratch.folder("safetensors", files: [SafeTensorsCheckpoint.singleFileName: data])
            ModelFuzzing.readEveryTensor(directory)
        },
        FuzzTarget("safetensors-index", parses: "model.safetensors.index.json and three shards (the sharded loader)",
                   seeds: ["Tests/Fuzz/Seeds/safetensors-index/*"], dictionary: "safetensors.dict",
                   maxLength: 65_536) { data in
            // Four files: the index, then model-00001-of-00003.safetensors to model-00003-of-00003.safetensors.
            let parts = data.fuzzFiles(4)
            var files = [SafeTensorsCheckpoint.indexFileName: parts[0]]
            for n in 1...3 where !parts[n].isEmpty { files[ModelFuzzing.shard(n)] = parts[n] }
            ModelFuzzing.readEveryTensor(FuzzScratch.folder("safetensors-index", files: files))
        },
        FuzzTarget("config", parses: "config.json through the model_type registry into each family's config",
                   seeds: ["Tests/Fixtures/models/*/config.json", "Tests/Fixtures/wordpiece/*/config.json"], dictionary: "config.json.dict", maxLength: 16_384) { data in
            let directory = FuzzScratch.folder("config", files: ["config.json": data])
            guard let family = try? ModelTypeRegistry.family(directory: directory) else { return }
            // The family's config, decoded and validated as a model load reads it.
            guard let length = try? family.textMaxLength(configIn: directory) else { return }
            precondition(length >= 1 && length <= 1 << 20, "max_position_embeddings \(length) passed validation")
        },
        FuzzTarget("preprocessor-config", parses: "preprocessor_config.json, then preprocessing a 13x7 image with it",
                   seeds: ["Tests/Fixtures/models/*/preprocessor_config.json",
                           "Tests/Fixtures/preprocess/*/preprocessor_config.json",
                           "Tests/Fixtures/images/transparency/*/preprocessor_config.json"], dictionary: "preprocessor_config.json.dict",
                   maxLength: 16_384) { data in
            let directory = FuzzScratch.folder("preprocessor-config", files: ["preprocessor_config.json": data])
            let url = directory.appendingPathComponent("preprocessor_config.json")
            for processorClass in ImageProcessorClass.allCases {
                // Loading validates the config (an invalid one would trap in ImageProcessor.init(config:)).
                guard let processor = try? ImageProcessor(contentsOf: url, processorClass: processorClass) else { continue }
                let everyImage = processor.everyImageError
                // The classifier preprocesses only to its model's input size, checked first; pixel_values larger
                // than 1,048,576 pixels are sized but not computed here (6707 x 6707 took 65 s of CPU under ASan).
                if let size = try? processor.outputSize(width: ModelFuzzing.image.width, height: ModelFuzzing.image.height),
                   size.height * size.width > 1 << 20 { continue }
                let result = Result { try processor.preprocess(ModelFuzzing.image) }
                if everyImage != nil, case .success = result {
                    preconditionFailure("everyImageError \(everyImage!) but the image was preprocessed")
                }
                guard case let .success((values, h, w)) = result else { continue }
                precondition(h >= 0 && w >= 0 && values.count == 3 * h * w,
                             "pixel_values hold \(values.count) floats for 3 x \(h) x \(w)")
                if let fixed = processor.fixedOutputSize {
                    precondition(fixed.height == h && fixed.width == w,
                                 "pixel_values are \(h)x\(w), the config fixes \(fixed.height)x\(fixed.width)")
                }
            }
        },
    ]
}
#endif
