// Opening a model directory's weights, shared by every family.
import Foundation
import SafeTensors

extension SafeTensorsCheckpoint {
    /// The weights of `directory` (`model.safetensors`, or the shards of `model.safetensors.index.json`).
    /// - Throws: `ModelError.missingFile` when neither is there; `SafeTensorsError` for a corrupt file.
    package static func open(modelDirectory directory: URL) throws -> SafeTensorsCheckpoint {
        let fm = FileManager.default
        let single = directory.appendingPathComponent(singleFileName)
        let index = directory.appendingPathComponent(indexFileName)
        guard fm.fileExists(atPath: single.path) || fm.fileExists(atPath: index.path) else {
            throw ModelError.missingFile(path: "\(single.path) (or \(indexFileName))")
        }
        return try SafeTensorsCheckpoint(directory: directory)
    }

    /// Tensors of every file that `read` never asked for, sorted: what transformers reports as unexpected keys
    /// (`position_ids` buffers and the names in `ignoring` left out). A shard may hold tensors its index does not
    /// list, which transformers reads too.
    package func unusedTensors(read: WeightLoader.ReadNames, ignoring: Set<String> = []) -> [String] {
        let stored = Set(files.values.flatMap { $0.tensors.keys })
        return stored.filter {
            !read.names.contains($0) && !ignoring.contains($0) && $0 != "position_ids" && !$0.hasSuffix(".position_ids")
        }.sorted()
    }
}

extension WeightLoader {
    /// A scalar parameter (`logit_scale`, `logit_bias`): stored as a 0-d tensor by transformers; a 1-element
    /// vector is accepted too.
    package func scalar(_ name: String) throws -> Float {
        let buffer: FloatBuffer
        if let info = checkpoint.info(prefix + name), info.shape == [1] {
            buffer = try get(name, [1])
        } else {
            buffer = try get(name, [])
        }
        return buffer.pointer[0]
    }
}

extension WeightLoader {
    /// The loader of a model directory's weights (`SafeTensorsCheckpoint.open(modelDirectory:)`), with every tensor
    /// except `lazy` read from disk in the background while the towers are built (and quantized or converted) and
    /// the caller goes on; without this a cold start reads the file page by page as the layers first run. `lazy`
    /// names tensors read only in part, such as a token embedding table of which only the rows in use are touched.
    /// - Throws: `ModelError.missingFile` without weights; `SafeTensorsError` for a corrupt file.
    package init(modelDirectory directory: URL, precision: Precision, lazy: Set<String> = []) throws {
        let checkpoint = try SafeTensorsCheckpoint.open(modelDirectory: directory)
        checkpoint.prefetch(checkpoint.names.filter { !lazy.contains($0) })
        self.init(checkpoint: checkpoint, prefix: "", precision: precision)
    }

    /// Tensors of every file this loader (and the loaders derived from it) never asked for, sorted: see
    /// `SafeTensorsCheckpoint.unusedTensors(read:ignoring:)`.
    package func unusedTensors(ignoring: Set<String> = []) -> [String] {
        checkpoint.unusedTensors(read: read, ignoring: ignoring)
    }
}
