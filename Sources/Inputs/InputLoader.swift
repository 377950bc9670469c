import Foundation
import Hub
import ImageIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one input and what the file system says about them.
public struct LoadedInput: Sendable {
    /// The file's (or the download's) bytes.
    public var bytes: Data
    /// Its size in bytes.
    public var size: Int
    /// The file's modification time in seconds since 1970-01-01 UTC, with the file system's nanoseconds; nil for a URL.
    public var mtime: Double?

    public init(bytes: Data, size: Int, mtime: Double?) {
        self.bytes = bytes
        self.size = size
        self.mtime = mtime
    }
}

/// Reads inputs: a file once, through one descriptor that is also `fstat`ed before and after (so that a file
/// replaced or written to while being read is an error, not a mix of two versions); a URL through
/// `RemoteFile.fetch` with this loader's size cap. Safe to use from several threads.
public struct InputLoader: Sendable {
    /// The size cap of a download, in bytes (`--max-download-bytes`).
    public var maxDownloadBytes: Int
    /// Seconds a server may stay silent before a download fails.
    public var downloadTimeout: TimeInterval

    public init(maxDownloadBytes: Int = RemoteFile.defaultMaxBytes, downloadTimeout: TimeInterval = 30) {
        self.maxDownloadBytes = maxDownloadBytes
        self.downloadTimeout = downloadTimeout
    }

    /// The bytes of `entry`.
    /// - Throws: `InputError` naming `entry.name` for a file (`.unreadable`, `.notRegularFile`,
    ///   `.changedWhileReading`); `RemoteFileError` naming the URL for a URL.
    public func load(_ entry: InputEntry) throws -> LoadedInput {
        switch entry.location {
        case .remote(let url):
            let bytes = try RemoteFile.fetch(url, maxBytes: maxDownloadBytes, timeout: downloadTimeout)
            return LoadedInput(bytes: bytes, size: bytes.count, mtime: nil)
        case .file(let url):
            return try Self.readFile(url.path, name: entry.name)
        }
    }

    /// The decoded RGB image of `entry` (EXIF orientation applied, as transformers' `load_image`): `load` then
    /// `ImageDecoder.decode`, whose errors name `entry.name`.
    /// - Throws: the errors of `load`, then `ImageIOError` (`.notAnImage` for a file named explicitly that holds no
    ///   image, `.tooLarge` over `maxPixels`, ...).
    public func image(_ entry: InputEntry, maxPixels: Int = ImageDecoder.defaultMaxPixels) throws -> RGBImage {
        try ImageDecoder.decode(load(entry).bytes, maxPixels: maxPixels, source: entry.name)
    }

    /// The largest local file read whole (an image, a dataset manifest): 1 GiB. An image at the pixel limit
    /// (178,956,970 pixels) is at most 537 MB even as an uncompressed 24-bit BMP.
    public static let maxFileBytes = 1 << 30

    /// Reads the regular file at `path` (named `name` in errors) once, checking with `fstat` on the same descriptor
    /// that its size and modification time did not change while it was read.
    /// - Throws: `InputError.unreadable`, `.notRegularFile`, `.tooLarge` (over `maxBytes`, from the size before
    ///   anything is read), `.changedWhileReading`.
    public static func readFile(_ path: String, name: String, maxBytes: Int = maxFileBytes) throws -> LoadedInput {
        let (fd, before) = try openRegularFile(path, name: name)
        defer { close(fd) }
        let expected = Int(before.st_size)
        guard expected <= maxBytes else { throw InputError.tooLarge(name, size: expected, limit: maxBytes) }
        var bytes = Data(count: expected)
        var count = 0
        let failure: Int32? = bytes.withUnsafeMutableBytes { buffer -> Int32? in
            while count < expected {
                let n = read(fd, buffer.baseAddress! + count, expected - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { break }
                count += n
            }
            return nil
        }
        if let failure { throw InputError.unreadable(name, reason: String(cString: strerror(failure))) }
        // One byte more than fstat said means the file grew while being read.
        var extra: UInt8 = 0
        let more = read(fd, &extra, 1)
        var after = stat()
        guard fstat(fd, &after) == 0 else { throw InputError.unreadable(name, reason: String(cString: strerror(errno))) }
        if count != expected || more > 0 || after.st_size != before.st_size
            || Self.modificationTime(after) != Self.modificationTime(before) {
            throw InputError.changedWhileReading(name)
        }
        return LoadedInput(bytes: bytes, size: expected, mtime: Self.seconds(Self.modificationTime(before)))
    }

    /// Opens the regular file at `path` for reading (non-blocking, so that a FIFO named as an input is reported
    /// instead of waiting for a writer) and `fstat`s the descriptor. The caller closes it.
    /// - Throws: `InputError.unreadable` (with the system's reason; a folder is "Is a directory"), `.notRegularFile`.
    static func openRegularFile(_ path: String, name: String) throws -> (fd: Int32, status: stat) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw InputError.unreadable(name, reason: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw InputError.unreadable(name, reason: reason)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return (fd, status)
        case S_IFDIR:
            close(fd)
            throw InputError.unreadable(name, reason: String(cString: strerror(EISDIR)))
        default:
            close(fd)
            throw InputError.notRegularFile(name)
        }
    }

    /// Size and modification time (seconds since 1970 with nanoseconds, as `LoadedInput.mtime`) of the file at
    /// `path`, following symbolic links; nil when it cannot be stat'ed. Reads no content.
    public static func fileStatus(_ path: String) -> (size: Int, mtime: Double)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (Int(st.st_size), seconds(modificationTime(st)))
    }

    static func seconds(_ time: (tv_sec: Int, tv_nsec: Int)) -> Double {
        Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func modificationTime(_ st: stat) -> (tv_sec: Int, tv_nsec: Int) {
        #if canImport(Darwin)
        return (Int(st.st_mtimespec.tv_sec), Int(st.st_mtimespec.tv_nsec))
        #else
        return (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec))
        #endif
    }
}

/// Why a file input could not be read. Every message names the input as the user gave it.
public enum InputError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// The file cannot be opened or read (`reason` in the system's words: "No such file or directory").
    case unreadable(String, reason: String)
    /// Not a regular file (a FIFO, socket or device).
    case notRegularFile(String)
    /// Its size or modification time changed while it was read (written to or replaced meanwhile).
    case changedWhileReading(String)
    /// The file is `size` bytes, more than `limit` (`InputLoader.maxFileBytes`); refused before it is read.
    case tooLarge(String, size: Int, limit: Int)

    public var description: String {
        switch self {
        case .unreadable(let name, let reason): return "\(name): cannot read the file (\(reason))"
        case .notRegularFile(let name): return "\(name): not a regular file"
        case .changedWhileReading(let name): return "\(name): the file changed while being read; try again"
        case .tooLarge(let name, let size, let limit):
            return "\(name): the file is \(size) bytes, over the limit of \(limit) bytes for a file read whole"
        }
    }

    public var errorDescription: String? { description }
}
