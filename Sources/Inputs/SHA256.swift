import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface (libcrypto), as Python's `hashlib.sha256`.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some ContiguousBytes) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { buffer in
            // EVP_Digest fails only when OpenSSL cannot allocate its context; SHA-256 is always available.
            let ok = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
            precondition(ok == 1 && length == 32, "OpenSSL EVP_Digest(SHA-256) failed")
        }
        return digest
    }

    /// The digest of `bytes` as 64 lowercase hex digits (`hashlib.sha256(b).hexdigest()`).
    public static func hex(_ bytes: some ContiguousBytes) -> String {
        hexString(hash(bytes))
    }

    /// `bytes` as lowercase hex digits, two per byte.
    public static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    /// A running SHA-256 over bytes given piece by piece (OpenSSL's `EVP_DigestInit_ex` / `Update` / `Final_ex`).
    public final class Hasher {
        private let context: OpaquePointer

        public init() {
            // EVP_MD_CTX_new and EVP_DigestInit_ex fail only when OpenSSL cannot allocate; SHA-256 is always there.
            guard let context = EVP_MD_CTX_new() else { preconditionFailure("OpenSSL EVP_MD_CTX_new failed") }
            self.context = context
            precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "OpenSSL EVP_DigestInit_ex(SHA-256) failed")
        }

        deinit { EVP_MD_CTX_free(context) }

        /// Adds `count` bytes at `bytes`.
        public func update(_ bytes: UnsafeRawPointer, count: Int) {
            precondition(EVP_DigestUpdate(context, bytes, count) == 1, "OpenSSL EVP_DigestUpdate failed")
        }

        /// Adds `bytes`.
        public func update(_ bytes: some ContiguousBytes) {
            bytes.withUnsafeBytes { buffer in
                if let base = buffer.baseAddress { update(base, count: buffer.count) }
            }
        }

        /// The 32-byte digest of everything added (call once).
        public func finish() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "OpenSSL EVP_DigestFinal_ex failed")
            return digest
        }
    }

    /// The SHA-256 (64 lowercase hex digits) of the regular file at `path` (named `name` in errors), read in chunks
    /// of `chunkSize` bytes through one descriptor (the file is never held in memory whole, so a video of any size
    /// hashes in constant memory), with its size and modification time (seconds since 1970 with nanoseconds, as
    /// `LoadedInput.mtime`) from `fstat` on that descriptor, checked unchanged after the last byte.
    ///
    /// - Throws: `InputError.unreadable`, `.notRegularFile`, `.changedWhileReading` (the size or time changed, or
    ///   the file held more or fewer bytes than `fstat` said).
    public static func hexOfFile(_ path: String, name: String, chunkSize: Int = 1 << 20) throws -> (hex: String, size: Int, mtime: Double) {
        let (fd, before) = try InputLoader.openRegularFile(path, name: name)
        defer { close(fd) }
        let hasher = Hasher()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, chunkSize), alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = read(fd, buffer, max(1, chunkSize))
            if n < 0 {
                if errno == EINTR { continue }
                throw InputError.unreadable(name, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            hasher.update(buffer, count: n)
            total += n
        }
        var after = stat()
        guard fstat(fd, &after) == 0 else { throw InputError.unreadable(name, reason: String(cString: strerror(errno))) }
        let mtime = InputLoader.modificationTime(before)
        guard total == Int(before.st_size), after.st_size == before.st_size,
              InputLoader.modificationTime(after) == mtime else {
            throw InputError.changedWhileReading(name)
        }
        return (hexString(hasher.finish()), total, InputLoader.seconds(mtime))
    }
}
