import Foundation

/// `--files-from`: a list of inputs, one path or URL per line.
public enum FilesFrom {
    /// The lines of the file at `path`, or of standard input for "-": one path or URL per line, in order; a
    /// trailing "\r" (CRLF files) is dropped, and blank lines (empty or white space only) are ignored. Other white
    /// space is kept (file names may start or end with spaces). Relative paths are relative to the working
    /// directory, as on the command line.
    /// - Throws: `FilesFromError` naming the file when it cannot be read or is not UTF-8.
    public static func read(_ path: String) throws -> [String] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do {
                data = try InputLoader.readFile(path, name: path).bytes
            } catch InputError.unreadable(_, let reason) {
                throw FilesFromError(path: path, reason: "cannot read the list (\(reason))")
            } catch {
                throw FilesFromError(path: path, reason: "cannot read the list (\(error))")
            }
        }
        return try lines(data, source: path == "-" ? "standard input" : path)
    }

    /// The entries of a list held in memory (see `read(_:)`); `source` names it in errors.
    /// - Throws: `FilesFromError` when the data is not UTF-8.
    public static func lines(_ data: Data, source: String) throws -> [String] {
        guard let text = String(validating: Array(data), as: UTF8.self) else {
            throw FilesFromError(path: source, reason: "the list is not UTF-8 text")
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
