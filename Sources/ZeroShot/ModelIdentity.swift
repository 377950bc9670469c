import Foundation
import Hub

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
        var hasher = SHA256Digest()
        let config = directory.appendingPathComponent("config.json")
        do {
            hasher.update(try Data(contentsOf: config))
        } catch {
            throw ModelIdentityError.unreadable(path: config.path, reason: error.localizedDescription)
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
                hasher.update(Data(name.utf8) + [0])
                withUnsafeBytes(of: size.littleEndian) { hasher.update(Data($0)) }
                try handle.seek(toOffset: 0)
                hasher.update(try handle.read(upToCount: fingerprintSpan) ?? Data())
                try handle.seek(toOffset: size - min(size, UInt64(fingerprintSpan)))
                hasher.update(try handle.readToEnd() ?? Data())
            } catch {
                throw ModelIdentityError.unreadable(path: path, reason: error.localizedDescription)
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
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

/// SHA-256 (FIPS 180-4), for the model fingerprint: a few MiB per model, so a plain implementation keeps the
/// facade free of a crypto library.
struct SHA256Digest {
    private var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    mutating func update(_ data: Data) {
        length &+= UInt64(data.count)
        pending.append(contentsOf: data)
        var offset = 0
        while pending.count - offset >= 64 {
            pending.withUnsafeBufferPointer { block(UnsafeBufferPointer(rebasing: $0[offset..<(offset + 64)])) }
            offset += 64
        }
        pending.removeFirst(offset)
    }

    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        let saved = length
        update(Data(tail))
        length = saved
        return state.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
    }

    private mutating func block(_ bytes: UnsafeBufferPointer<UInt8>) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0..<16 {
            w[i] = UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8
                | UInt32(bytes[4 * i + 3])
        }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let t1 = h &+ s1 &+ ((e & f) ^ (~e & g)) &+ Self.k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
            h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}
