import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads with an upper bound on the size, checked before the memory is allocated: a regular file's size
/// is read first (`fstat`), and a pipe or device (`/dev/zero`) is read at most `maxBytes + 1` bytes.
enum BoundedFile {
    /// The largest `config.json` read to fingerprint a model: 16 MiB (a checkpoint's is a few KiB).
    static let maxConfigBytes = 16 << 20
    /// The largest tokenizer file read to key the text-embedding cache: 512 MiB (Gemma's tokenizer.json is 33 MiB).
    static let maxTokenizerFileBytes = 512 << 20

    /// Why a bounded read failed.
    enum Failure: Error {
        /// The file cannot be opened or read (`errno`'s text).
        case unreadable(String)
        /// The file is larger than the limit (`size` is nil when the file is no regular file and gave more).
        case tooLarge(size: Int?, limit: Int)

        /// A reason for an error message naming the file and `what` it is ("a class-names file").
        func reason(what: String) -> String {
            switch self {
            case .unreadable(let text): return text
            case .tooLarge(let size, let limit):
                let given = size.map { "\($0) bytes" } ?? "more than \(limit) bytes"
                return "\(given), over the limit of \(BoundedFile.describe(limit)) for \(what)"
            }
        }
    }

    /// "16 MiB" for whole MiB, else bytes.
    static func describe(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    /// The bytes of the file at `path`, at most `maxBytes`.
    /// - Throws: `Failure.unreadable` (missing, a directory, unreadable), `.tooLarge`.
    static func contents(_ path: String, maxBytes: Int) throws(Failure) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .unreadable("it is a directory") }
        if (st.st_mode & S_IFMT) == S_IFREG && Int(st.st_size) > maxBytes {
            throw .tooLarge(size: Int(st.st_size), limit: maxBytes)
        }
        var data = Data()
        if (st.st_mode & S_IFMT) == S_IFREG { data.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if n == 0 { return data }
            // A file that grew since fstat, or a pipe or device.
            guard data.count + n <= maxBytes else { throw .tooLarge(size: nil, limit: maxBytes) }
            data.append(contentsOf: chunk[0..<n])
        }
    }
}
