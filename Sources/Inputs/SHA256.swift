import COpenSSL
import Foundation

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
}
