// Weight loading by tensor path, shared by every model family.
import Compute
import Foundation
import SafeTensors

/// Loads tensors under a name prefix, checking shapes; errors name the tensor and the expected/found shape.
/// Every name asked for is recorded in `read`, shared by the loaders of all sub-modules.
package struct WeightLoader {
    package let checkpoint: SafeTensorsCheckpoint
    package let prefix: String
    package var precision: Precision = .fp32
    package let read: ReadNames

    /// The names asked for while a model is built (loading runs on one thread).
    package final class ReadNames {
        package var names: Set<String> = []
    }

    package init(checkpoint: SafeTensorsCheckpoint, prefix: String = "", precision: Precision = .fp32,
         read: ReadNames = ReadNames()) {
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.precision = precision
        self.read = read
    }

    /// The loader for the sub-module `name` (`prefix.name.`).
    package func pp(_ name: String) -> WeightLoader {
        WeightLoader(checkpoint: checkpoint, prefix: prefix + name + ".", precision: precision, read: read)
    }

    /// Drops the mapped pages of `prefix.name` from resident memory (see `SafeTensorsCheckpoint.releasePages`).
    package func releasePages(_ name: String) {
        checkpoint.releasePages(prefix + name)
    }

    package func get(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
        let full = prefix + name
        read.names.insert(full)
        do {
            return try checkpoint.floats(full, shape: shape)
        } catch SafeTensorsError.tensorNotFound {
            throw ModelError.missingTensor(name: full, expectedShape: shape, checkpoint: checkpoint.directory.path)
        } catch SafeTensorsError.shapeMismatch(_, _, let expected, let found) {
            throw ModelError.wrongShape(name: full, expected: expected, found: found, checkpoint: checkpoint.directory.path)
        }
    }
}

