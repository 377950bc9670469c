import FileReading
import Foundation
import Hub
import Inputs

/// Which checkpoint made an embedding: stored with every index so that embeddings of different models are never
/// mixed. Two models are the same when their fingerprints are (`id` and `revision` say where the files came from;
/// the same files under another directory or Hub id are the same model).
public struct ModelIdentity: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The Hugging Face repo id (`org/name`) of a Hub model, else the model directory's absolute path.
    public let id: String
    /// The Hub snapshot commit the files were read from (40 hex digits); nil for a local directory.
    public let revision: String?
    /// SHA-256 (lowercase hex) of `config.json`, then for each weights file (`*.safetensors`, by name) its name,
    /// its size and its first and last MiB (`ModelIdentity.fingerprint(directory:)`): content-based, the same on
    /// every machine, and cheap for any model size.
    public let fingerprint: String

    public init(id: String, revision: String?, fingerprint: String) {
        self.id = id
        self.revision = revision
        self.fingerprint = fingerprint
    }

    /// `id`, `id@revision` for a Hub model, with the first 12 hex digits of the fingerprint:
    /// `openai/clip-vit-base-patch32@3d74acf9... (fingerprint 1a2b3c4d5e6f)`.
    public var description: String {
        (revision.map { "\(id)@\($0)" } ?? id) + " (fingerprint \(fingerprint.prefix(12)))"
    }

    /// The name that loads this model again: `id@revision` for a Hub model (that very snapshot), else the directory.
    public var reference: String { revision.map { "\(id)@\($0)" } ?? id }

    /// How much of each end of a weights file goes into the fingerprint.
    public static let fingerprintSpan = 1 << 20

    /// The identity of a model directory: `id` its absolute, standardized path, no revision.
    ///
    /// - Throws: `ModelIdentityError.unreadable` naming the file that cannot be read.
    public init(directory: URL) throws {
        self.init(id: directory.standardizedFileURL.path, revision: nil, fingerprint: try Self.fingerprint(directory: directory))
    }

    /// The fingerprint of the files in `directory`: SHA-256 over `config.json`'s bytes, then for each
    /// `*.safetensors` file in name order: its name (UTF-8) and a 0 byte, its size (UInt64 little-endian), its first
    /// `fingerprintSpan` bytes and its last `fingerprintSpan` bytes (the whole file twice when it is shorter).
    /// Symbolic links (the Hub cache's snapshot files) are followed.
    ///
    /// - Throws: `ModelIdentityError.unreadable` naming the file.
    public static func fingerprint(directory: URL) throws -> String {
        // What is hashed: at most 2 MiB per weights file.
        var hashed = Data()
        let config = directory.appendingPathComponent("config.json")
        do {
            hashed.append(try FileContents.read(config, maxBytes: FileContents.maxConfigBytes))
        } catch {
            throw ModelIdentityError.unreadable(path: config.path, reason: error.reason(what: "config.json"))
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".safetensors") }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw ModelIdentityError.unreadable(path: directory.path, reason: error.localizedDescription)
        }
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ModelIdentityError.unreadable(path: path, reason: "cannot be opened")
            }
            defer { try? handle.close() }
            do {
                let size = try handle.seekToEnd()
                hashed.append(Data(name.utf8) + [0])
                withUnsafeBytes(of: size.littleEndian) { hashed.append(contentsOf: $0) }
                try handle.seek(toOffset: 0)
                hashed.append(try handle.read(upToCount: fingerprintSpan) ?? Data())
                try handle.seek(toOffset: size - min(size, UInt64(fingerprintSpan)))
                hashed.append(try handle.readToEnd() ?? Data())
            } catch {
                throw ModelIdentityError.unreadable(path: path, reason: error.localizedDescription)
            }
        }
        return SHA256.hex(hashed)
    }
}

/// A model's files could not be read to fingerprint them.
public enum ModelIdentityError: Error, LocalizedError, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot fingerprint the model: \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

extension ZeroShotClassifier {
    /// The identity of the model at `directory`, loaded by the name `name` (nil: the default model): a Hub id
    /// resolved into the Hub cache gives `id` = the repo id and `revision` = the snapshot commit (the snapshot
    /// directory's name); a local directory gives its absolute path.
    static func identity(name: String?, directory: URL) throws -> ModelIdentity {
        let fingerprint = try ModelIdentity.fingerprint(directory: directory)
        let name = name ?? ModelLocator.defaultModel()
        let expanded = (name as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory) && isDirectory.boolValue),
           let reference = try? RepoReference(parsing: name),
           directory.deletingLastPathComponent().lastPathComponent == "snapshots" {
            return ModelIdentity(id: reference.repoID, revision: directory.lastPathComponent, fingerprint: fingerprint)
        }
        return ModelIdentity(id: directory.standardizedFileURL.path, revision: nil, fingerprint: fingerprint)
    }
}
