import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--files-from`: a list of inputs, one path or URL per line.
public enum FilesFrom {
    /// The lines of the file at `path`, or of standard input for "-": one path or URL per line, in order; a
    /// trailing "\r" (CRLF files) is dropped, and blank lines (empty or white space only) are ignored. Other white
    /// space is kept (file names may start or end with spaces). Relative paths are relative to the working
    /// directory, as on the command line. A pipe is read to its end, so a shell's process substitution works
    /// (`--files-from <(find photos -name "*.jpg")`); a list is at most `maxBytes` bytes (a device such as
    /// /dev/zero is refused at that size instead of being read forever).
    /// - Throws: `FilesFromError` naming the file when it cannot be read, is a directory, is larger than
    ///   `maxBytes`, holds a NUL byte or is not UTF-8.
    public static func read(_ path: String, maxBytes: Int = defaultMaxBytes) throws -> [String] {
        try lines(bytes(path, maxBytes: maxBytes), source: path == "-" ? "standard input" : path)
    }

    /// The bytes of the list at `path` ("-": standard input).
    private static func bytes(_ path: String, maxBytes: Int) throws -> Data {
        let data: Data
        if path == "-" {
            data = try readStream(FileHandle.standardInput.fileDescriptor, source: "standard input", maxBytes: maxBytes)
        } else {
            // Blocking: a pipe's writer may not have started yet.
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw FilesFromError(path: path, reason: "cannot read the list (\(String(cString: strerror(errno))))")
            }
            defer { close(fd) }
            var st = stat()
            if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw FilesFromError(path: path, reason: "cannot read the list (\(String(cString: strerror(EISDIR))))")
            }
            if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && Int(st.st_size) > maxBytes {
                throw FilesFromError(path: path, reason: "the list is \(st.st_size) bytes, larger than \(maxBytes) bytes")
            }
            data = try readStream(fd, source: path, maxBytes: maxBytes)
        }
        return data
    }

    /// As `read`, but a line that is not UTF-8 (a file name in another encoding, as `find` prints it) does not
    /// lose the others: it is left out and returned as a problem naming the list and the line
    /// (`InputProblem.invalidName`, "--files-from LIST line N"). A list holding a NUL byte is still an error.
    /// - Throws: `FilesFromError` naming the file when it cannot be read, is a directory, is larger than
    ///   `maxBytes` or holds a NUL byte.
    public static func readList(_ path: String, maxBytes: Int = defaultMaxBytes) throws -> (lines: [String], problems: [InputProblem]) {
        let source = path == "-" ? "standard input" : path
        let data = try bytes(path, maxBytes: maxBytes)
        if data.contains(0) {
            throw FilesFromError(path: source, reason: "the list holds a NUL byte (give one path per line, not -print0 output)")
        }
        var lines: [String] = [], problems: [InputProblem] = []
        for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let bytes = line.last == 0x0D ? line.dropLast() : line[...]
            guard let entry = String(validating: Array(bytes), as: UTF8.self) else {
                problems.append(.invalidName(directory: "--files-from \(source) line \(number + 1)", bytes: Array(bytes)))
                continue
            }
            if !entry.allSatisfy(\.isWhitespace) { lines.append(entry) }
        }
        return (lines, problems)
    }

    /// The largest list `read` accepts: 1 GiB (about ten million paths of 100 bytes).
    public static let defaultMaxBytes = 1 << 30

    /// Everything `fd` gives until its end, at most `maxBytes`.
    private static func readStream(_ fd: Int32, source: String, maxBytes: Int) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FilesFromError(path: source, reason: "cannot read the list (\(String(cString: strerror(errno))))")
            }
            if n == 0 { return data }
            guard data.count + n <= maxBytes else {
                throw FilesFromError(path: source, reason: "the list is larger than \(maxBytes) bytes")
            }
            data.append(contentsOf: chunk[0..<n])
        }
    }

    /// The entries of a list held in memory (see `read(_:)`); `source` names it in errors.
    /// - Throws: `FilesFromError` when the data is not UTF-8.
    public static func lines(_ data: Data, source: String) throws -> [String] {
        guard let text = String(validating: Array(data), as: UTF8.self) else {
            throw FilesFromError(path: source, reason: "the list is not UTF-8 text")
        }
        if data.contains(0) {
            throw FilesFromError(path: source, reason: "the list holds a NUL byte (give one path per line, not -print0 output)")
        }
        // Split on the bytes: "\r\n" is one Character in Swift, and would not split on "\n".
        return text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).compactMap { line in
            let bytes = line.last == 0x0D ? line.dropLast() : line[...]
            let entry = String(decoding: bytes, as: UTF8.self)
            return entry.allSatisfy(\.isWhitespace) ? nil : entry
        }
    }
}

/// A `--files-from` list that cannot be read.
public struct FilesFromError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "--files-from \(path): \(reason)" }
    public var errorDescription: String? { description }
}
