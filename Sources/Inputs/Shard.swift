import Foundation

/// Share `k` of `n` of a run's inputs, for spreading one job over `n` processes or machines (a Kubernetes Indexed
/// Job's `$JOB_COMPLETION_INDEX/N`, a Slurm `--array=0-(N-1)` task's `$SLURM_ARRAY_TASK_ID/N`).
///
/// An input belongs to share `k` when the first 8 bytes of SHA-256 of its UTF-8 shard key, read as a big-endian
/// unsigned 64-bit integer, modulo `n` equal `k`. In Python:
///
///     int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n == k
///
/// The key is the path relative to the argument the input was found under (`InputEntry.shardKey`), so every machine
/// gives the same shares whatever the mount point.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// The share, 0-based: 0 <= k < n.
    public let k: Int
    /// The number of shares, at least 1.
    public let n: Int

    /// - Throws: `ShardError` when not 0 <= k < n.
    public init(k: Int, n: Int) throws {
        guard n >= 1, k >= 0, k < n else { throw ShardError(text: "\(k)/\(n)", reason: Self.rangeReason) }
        self.k = k
        self.n = n
    }

    /// Parses "K/N" (decimal, 0 <= K < N).
    /// - Throws: `ShardError` naming the text.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces))
        else {
            throw ShardError(text: text, reason: "give K/N, share K (from 0) of N, e.g. 0/4")
        }
        guard n >= 1, k >= 0, k < n else { throw ShardError(text: text, reason: Self.rangeReason) }
        self.k = k
        self.n = n
    }

    private static let rangeReason = "K counts from 0 and must be less than N (0/4, 1/4, 2/4, 3/4)"

    /// Whether the input with this shard key belongs to this share.
    public func contains(key: String) -> Bool {
        Self.bucket(key: key, n: n) == k
    }

    /// The share (0..<n) of a shard key.
    public static func bucket(key: String, n: Int) -> Int {
        let digest = SHA256.hash(Array(key.utf8))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        return Int(value % UInt64(n))
    }

    public var description: String { "\(k)/\(n)" }
}

/// A `--shard` value that is not K/N with 0 <= K < N.
public struct ShardError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    public let text: String
    public let reason: String
    public var description: String { "invalid shard '\(text)': \(reason)" }
    public var errorDescription: String? { description }
}
