// Reading a file whole, with the size bounded before any memory is allocated.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads for every file zeroshot parses (configs, tokenizer files, prompt files, the safetensors index,
/// images). The size of a regular file is checked (`fstat`) before it is read; a pipe or a device (`/dev/zero`) is
/// read at most `maxBytes + 1` bytes; an empty regular file gives empty data without calling Foundation (on Linux
/// `Data(contentsOf:)` leaks its 4 KiB buffer on each read of a file of size 0).
package enum FileContents {
    /// The largest JSON configuration read: `config.json`, `preprocessor_config.json`, `tokenizer_config.json`,
    /// `special_tokens_map.json`, `model.safetensors.index.json`: 4 MiB (a config.json with 21,843 ImageNet-21k
    /// labels is under 1 MiB; a sharded index of a 405B model about 100 KiB). Parsed JSON takes up to about 30
    /// times its bytes in memory (Foundation's objects for an array of small numbers): at most about 120 MB here.
    package static let maxConfigBytes = 4 << 20
    /// The largest tokenizer file read (`tokenizer.json`, `vocab.json`, `merges.txt`, `vocab.txt`, `spiece.model`):
    /// 64 MiB (Gemma's `tokenizer.json`, the largest known, is 33 MiB); parsing may take up to about 30 times that
    /// in memory for a hostile file.
    package static let maxTokenizerFileBytes = 64 << 20

    /// The bytes of the file at `url` (a file URL), at most `maxBytes`.
    ///
    /// - Parameter mapped: map a regular file instead of reading it (`Data.ReadingOptions.mappedIfSafe`), for large
    ///   files read once (images).
    /// - Throws: `FileReadError.missing`, `.unreadable` (a directory, no permission, a symbolic link loop, a read
    ///   error; the system's words), `.tooLarge`.
    package static func read(_ url: URL, maxBytes: Int, mapped: Bool = false) throws(FileReadError) -> Data {
        try read(path: url.path, maxBytes: maxBytes, mapped: mapped)
    }

    /// `read(_:maxBytes:mapped:)` for a path.
    package static func read(path: String, maxBytes: Int, mapped: Bool = false) throws(FileReadError) -> Data {
        // Non-blocking open, so that a FIFO without a writer does not wait for one; reads block again below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let isRegular = (st.st_mode & S_IFMT) == S_IFREG
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .unreadable("it is a directory") }
        if isRegular {
            let size = Int(st.st_size)
            if size > maxBytes { throw .tooLarge(size: size, limit: maxBytes) }
            if size == 0 { return Data() }
            if mapped {
                do {
                    return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
                } catch {
                    throw .unreadable((error as NSError).localizedDescription)
                }
            }
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        var data = Data()
        if isRegular { data.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
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

/// read(2), named apart from `FileContents.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}

/// Why `FileContents.read` failed; its description is the reason alone (callers name the file).
package enum FileReadError: Error, LocalizedError, Equatable {
    /// Nothing is at the path (`ENOENT`: no such file, or a dangling symbolic link).
    case missing
    /// The file cannot be opened or read (the system's words: "No such file or directory", "Permission denied"), or
    /// "it is a directory".
    case unreadable(String)
    /// The file is larger than `limit` bytes (`size` is nil when it is no regular file and gave more).
    case tooLarge(size: Int?, limit: Int)

    package var errorDescription: String? { reason(what: nil) }

    /// The reason, naming `what` the file is in the size limit ("over the limit of 4 MiB for config.json").
    package func reason(what: String?) -> String {
        switch self {
        case .missing: return String(cString: strerror(ENOENT))
        case .unreadable(let text): return text
        case .tooLarge(let size, let limit):
            let given = size.map { "\($0) bytes" } ?? "more than \(limit) bytes"
            return "\(given), over the limit of \(Self.describe(limit))" + (what.map { " for \($0)" } ?? "")
        }
    }

    /// "16 MiB" for whole MiB, else bytes.
    package static func describe(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
