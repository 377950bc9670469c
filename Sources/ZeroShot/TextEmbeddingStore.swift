import CZlib
import Foundation
import Inputs
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk cache of float32 text embeddings, one file per model key, keyed inside by the exact prompt (the filled
/// template as given to the text tower). `ZeroShotClassifier.textEmbeddings` consults it when
/// `Options.textEmbeddingCache` names a directory, so that the second run of an 80,000-prompt ensemble reads its
/// embeddings instead of running the text tower.
///
/// ## Where
///
/// `<directory>/<model key, 64 hex digits>.zstext`. The command line's default directory is
/// `defaultDirectory(environment:)`: `$ZEROSHOT_CACHE/text-embeddings`, else
/// `$XDG_CACHE_HOME/zeroshot/text-embeddings`, else `~/.cache/zeroshot/text-embeddings`.
///
/// ## Model key
///
/// `modelKey(fingerprint:tokenizerFiles:precision:width:)`: SHA-256 over the format version, the model's content
/// fingerprint (`ModelIdentity.fingerprint`: `config.json` and the weights), the bytes of every tokenizer file the
/// model directory has (`tokenizer.json`, `vocab.json`, `merges.txt`, `spiece.model`, `vocab.txt`,
/// `tokenizer_config.json`, `special_tokens_map.json`, `added_tokens.json`), the precision (`fp32`/`int8` give
/// different embeddings) and the embedding width D. Any change to those gives another file; the same files under
/// another directory or Hub id share one.
///
/// ## File format (version 1), integers little-endian
///
///     header, 64 bytes
///        0  magic "ZSTXTEMB"                      8 bytes
///        8  format version (1)                    UInt32
///       12  width D                               UInt32
///       16  model key (SHA-256)                   32 bytes
///       48  reserved, zero                        12 bytes
///       60  CRC-32 of bytes 0..<60                UInt32
///     then records, appended, each 12 + L + 4·D bytes
///        0  L, the prompt's length in bytes       UInt32
///        4  flags (bit 0: its input_ids were truncated to the text length)   UInt32
///        8  the prompt, UTF-8                     L bytes
///      8+L  the embedding                         D float32
///   8+L+4D  CRC-32 (IEEE, as zlib's) of the record's preceding bytes         UInt32
///
/// A prompt may appear more than once (two processes that computed it at once); the last record wins.
///
/// ## Reading and writing
///
/// The file is opened on the first lookup and mapped; one walk over the record headers indexes prompt → offset, so
/// a lookup copies only the records asked for (each checked against its CRC). Appends take `flock(LOCK_EX)`, first
/// index the records other processes appended since, then write whole records at the end in one `pwrite`, so
/// processes writing at once never interleave. A last record cut short (a process killed while writing) is found
/// under the lock and truncated away with a warning. A file with a bad header (corrupt, foreign, another format
/// version, another key or width) is not used: a warning names it and a fresh file replaces it atomically (written
/// under another name, then renamed). A record whose CRC fails is a miss (warned once) and is recomputed.
///
/// Failures (a read-only or missing directory, a full disk, no permission) never fail the caller: the first one is
/// warned about through `warn`, and the run goes on without the cache (lookups miss, appends are dropped).
///
/// Thread-safe; several instances (in one or several processes) may share a file.
public final class TextEmbeddingStore: @unchecked Sendable {
    /// The version written in the header; files of any other version are replaced.
    public static let formatVersion: UInt32 = 1
    /// The file name extension.
    public static let fileExtension = "zstext"
    static let magic = Array("ZSTXTEMB".utf8)
    static let headerSize = 64

    /// One cached prompt.
    public struct Entry: Sendable, Equatable {
        public var prompt: String
        /// L2-normalised text embedding `[D]`.
        public var embedding: [Float]
        /// Whether the prompt's input_ids were truncated to the model's text length (its warning is repeated on a hit).
        public var truncated: Bool

        public init(prompt: String, embedding: [Float], truncated: Bool = false) {
            self.prompt = prompt
            self.embedding = embedding
            self.truncated = truncated
        }
    }

    /// The cache file.
    public let url: URL
    /// D, floats per embedding.
    public let width: Int
    /// The model key (32 bytes).
    public let key: [UInt8]
    private let warn: @Sendable (String) -> Void

    private let lock = NSLock()
    private var opened = false
    /// Set after a failure: lookups miss and appends are dropped.
    private var disabled = false
    private var fd: Int32 = -1
    private var writable = false
    private var map: UnsafeMutableRawPointer?
    private var mapLength = 0
    /// End of the last whole record indexed.
    private var validEnd = 0
    /// Prompt → record offset.
    private var index: [ExactText: Int] = [:]
    private var warnedCorruptRecord = false
    /// Why the file could only be opened for reading.
    private var readOnlyReason: String?
    private var warnedReadOnly = false

    /// A store for the model `key` in `directory` (created when missing, on first use).
    ///
    /// - Parameters:
    ///   - key: 32 bytes, `modelKey(...)`.
    ///   - width: D, floats per embedding.
    ///   - warn: receives the warnings (one line each, no `warning:` prefix).
    public init(directory: URL, key: [UInt8], width: Int, warn: @escaping @Sendable (String) -> Void) {
        precondition(key.count == 32 && width > 0, "a 32-byte key and a positive width")
        self.key = key
        self.width = width
        self.warn = warn
        url = directory.appendingPathComponent(SHA256.hexString(key) + "." + Self.fileExtension)
    }

    deinit {
        unmap()
        if fd >= 0 { close(fd) }
    }

    /// The directory of the command line's cache: `$ZEROSHOT_CACHE/text-embeddings`, else
    /// `$XDG_CACHE_HOME/zeroshot/text-embeddings`, else `$HOME/.cache/zeroshot/text-embeddings` (empty values are
    /// unset, as in the XDG Base Directory specification).
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let root = value("ZEROSHOT_CACHE") {
            return URL(fileURLWithPath: (root as NSString).expandingTildeInPath).appendingPathComponent("text-embeddings")
        }
        let cache = value("XDG_CACHE_HOME").map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: value("HOME") ?? NSHomeDirectory()).appendingPathComponent(".cache")
        return cache.appendingPathComponent("zeroshot").appendingPathComponent("text-embeddings")
    }

    /// The model key: SHA-256 over `"zeroshot text embeddings"`, 0, the format version (UInt32), the fingerprint
    /// (UTF-8), 0, each tokenizer file in name order (name, 0, size as UInt64, bytes), the precision name, 0, and the
    /// width (UInt64); integers little-endian.
    public static func modelKey(fingerprint: String, tokenizerFiles: [(name: String, bytes: Data)], precision: String,
                                width: Int) -> [UInt8] {
        var hashed = Data("zeroshot text embeddings".utf8) + [0]
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { hashed.append(contentsOf: $0) } }
        append(formatVersion)
        hashed.append(contentsOf: fingerprint.utf8 + [0])
        for file in tokenizerFiles.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            hashed.append(contentsOf: file.name.utf8 + [0])
            append(UInt64(file.bytes.count))
            hashed.append(file.bytes)
        }
        hashed.append(contentsOf: precision.utf8 + [0])
        append(UInt64(width))
        return SHA256.hash(hashed)
    }

    // MARK: - Lookup and append

    /// The cached entries of `prompts`, nil where a prompt is not cached (or its record is corrupt, or the cache
    /// cannot be used). Copies only the records asked for.
    public func lookup(_ prompts: [String]) -> [Entry?] {
        lock.lock()
        defer { lock.unlock() }
        openIfNeeded()
        guard !disabled, fd >= 0 else { return [Entry?](repeating: nil, count: prompts.count) }
        if validEnd > mapLength { remap() }
        return prompts.map { prompt in
            let key = ExactText(prompt)
            guard let offset = index[key], let map, offset < mapLength else { return nil }
            if let (embedding, truncated) = record(at: offset, in: UnsafeRawPointer(map), end: mapLength, prompt: key.bytes) {
                return Entry(prompt: prompt, embedding: embedding, truncated: truncated)
            }
            index[key] = nil
            if !warnedCorruptRecord {
                warnedCorruptRecord = true
                warn("\(url.path): the cached text embedding of \(ZeroShotClassifier.quoted(prompt)) is corrupt "
                     + "(checksum mismatch); it is computed again")
            }
            return nil
        }
    }

    /// Appends the entries not cached yet (as whole records, under an exclusive lock on the file). Entries whose
    /// embedding is not `width` floats are left out (a programming error of the caller).
    ///
    /// - Returns: per entry, the embedding the file already holds for its prompt when another process (or an
    ///   earlier call) stored it first, else nil. A caller uses it in place of its own: the same prompt embedded in
    ///   another batch may differ in the last bits (the matrix-product kernels depend on the batch), and with the
    ///   file's copy this run's results equal every later run's.
    @discardableResult
    public func append(_ entries: [Entry]) -> [[Float]?] {
        var existing = [[Float]?](repeating: nil, count: entries.count)
        guard !entries.isEmpty else { return existing }
        lock.lock()
        defer { lock.unlock() }
        openIfNeeded()
        guard !disabled, fd >= 0 else { return existing }
        guard writable else {
            if !warnedReadOnly {
                warnedReadOnly = true
                warn("\(url.path) cannot be written (\(readOnlyReason ?? "read-only")); new text embeddings are not cached")
            }
            return existing
        }
        guard lockFile() else { return existing }
        defer { _ = flock(fd, LOCK_UN) }
        // Another process may have replaced the file (a corrupt one) since it was opened: follow it.
        var fileStat = stat(), pathStat = stat()
        if fstat(fd, &fileStat) == 0, stat(url.path, &pathStat) == 0,
           fileStat.st_ino != pathStat.st_ino || fileStat.st_dev != pathStat.st_dev {
            _ = flock(fd, LOCK_UN)
            closeFile()
            opened = false
            openIfNeeded()
            guard !disabled, fd >= 0, writable, lockFile() else { return existing }
        }
        guard catchUp() else { return existing }
        if validEnd > mapLength { remap() }
        var buffer: [UInt8] = []
        var added: [(ExactText, Int)] = []
        var seen = Set<ExactText>()
        for (i, entry) in entries.enumerated() {
            let key = ExactText(entry.prompt)
            if let offset = index[key], let map, offset < mapLength {
                existing[i] = record(at: offset, in: UnsafeRawPointer(map), end: mapLength, prompt: key.bytes)?.embedding
                continue
            }
            guard entry.embedding.count == width, seen.insert(key).inserted else { continue }
            added.append((key, validEnd + buffer.count))
            Self.encode(entry, into: &buffer)
        }
        guard !buffer.isEmpty else { return existing }
        let written = buffer.withUnsafeBytes { writeAll(UnsafeRawBufferPointer($0), at: validEnd) }
        if let error = written {
            _ = ftruncate(fd, off_t(validEnd))  // no partial record left behind
            fail("cannot append to \(url.path): \(error); new text embeddings are not cached")
            return existing
        }
        for (prompt, offset) in added { index[prompt] = offset }
        validEnd += buffer.count
        return existing
    }

    // MARK: - Opening

    private func openIfNeeded() {
        guard !opened else { return }
        opened = true
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            fail("cannot create the text-embedding cache directory \(directory.path): \(Self.reason(error)); "
                 + "text embeddings are not cached")
            return
        }
        for _ in 0..<3 {
            guard openFile() else { return }
            switch validateHeader() {
            case nil:
                var size = stat()
                guard fstat(fd, &size) == 0 else { fail("cannot read \(url.path): \(Self.errnoText())"); return }
                remap(size: Int(size.st_size))
                validEnd = Self.headerSize
                walk(to: mapLength)
                return
            case let problem?:
                if let reason = replaceFile() {
                    fail("\(url.path) is not used: \(problem); it cannot be replaced (\(reason)); text embeddings are "
                         + "not cached")
                    return
                }
                warn("\(url.path) is not used: \(problem); it was replaced by a new cache file")
            }
        }
        fail("\(url.path) could not be opened as a text-embedding cache; text embeddings are not cached")
    }

    /// Opens the file, creating it (atomically, with its header) when missing. False after a failure (warned).
    private func openFile() -> Bool {
        closeFile()
        for _ in 0..<3 {
            fd = open(url.path, O_RDWR | O_CLOEXEC)
            if fd >= 0 { writable = true; return true }
            let error = errno
            if error == EACCES || error == EROFS || error == EPERM {
                fd = open(url.path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { writable = false; readOnlyReason = String(cString: strerror(error)); return true }
            }
            guard error == ENOENT else {
                fail("cannot open \(url.path): \(String(cString: strerror(error))); text embeddings are not cached")
                return false
            }
            let temporary: String
            switch writeNewFile() {
            case .success(let path): temporary = path
            case .failure(let failure):
                fail("cannot create \(url.path): \(failure.reason); text embeddings are not cached")
                return false
            }
            // link() never replaces: of two processes creating the file at once, one file wins, complete.
            if link(temporary, url.path) != 0 && errno != EEXIST {
                let reason = Self.errnoText()
                unlink(temporary)
                fail("cannot create \(url.path): \(reason); text embeddings are not cached")
                return false
            }
            unlink(temporary)
        }
        fail("cannot open \(url.path); text embeddings are not cached")
        return false
    }

    /// Why a file could not be written.
    private struct Failure: Error {
        let reason: String
    }

    /// Writes a file with only the header beside the cache file: its path, or why it could not be written.
    private func writeNewFile() -> Result<String, Failure> {
        let temporary = url.path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let out = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard out >= 0 else { return .failure(Failure(reason: Self.errnoText())) }
        let header = Self.header(key: key, width: width)
        let written = header.withUnsafeBytes { bytes in write(out, bytes.baseAddress, bytes.count) }
        let reason = written < 0 ? Self.errnoText() : "short write"
        close(out)
        guard written == header.count else {
            unlink(temporary)
            return .failure(Failure(reason: reason))
        }
        return .success(temporary)
    }

    /// Replaces the file at `url` by a new one with only the header (rename: readers of the old one keep it); nil,
    /// or why it could not be replaced.
    private func replaceFile() -> String? {
        closeFile()
        switch writeNewFile() {
        case .failure(let failure): return failure.reason
        case .success(let temporary):
            guard rename(temporary, url.path) == 0 else {
                let reason = Self.errnoText()
                unlink(temporary)
                return reason
            }
            return nil
        }
    }

    /// Why the open file's header is not ours, or nil when it is.
    private func validateHeader() -> String? {
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.headerSize, 0) }
        guard count == Self.headerSize else {
            return count < 0 ? "it cannot be read (\(Self.errnoText()))" : "it is too short for a header (\(count) bytes)"
        }
        guard Array(header[0..<8]) == Self.magic else { return "it is not a text-embedding cache file (no ZSTXTEMB magic)" }
        guard Self.crc32(header[0..<60]) == Self.uint32(header, 60) else { return "its header is corrupt (checksum mismatch)" }
        let version = Self.uint32(header, 8)
        guard version == Self.formatVersion else {
            return "it has format version \(version), this program writes version \(Self.formatVersion)"
        }
        guard Int(Self.uint32(header, 12)) == width else {
            return "its embeddings are \(Self.uint32(header, 12)) wide, the model's \(width)"
        }
        guard Array(header[16..<48]) == key else { return "it belongs to another model key" }
        return nil
    }

    static func header(key: [UInt8], width: Int) -> [UInt8] {
        var header = magic
        appendUInt32(formatVersion, to: &header)
        appendUInt32(UInt32(width), to: &header)
        header += key
        header += [UInt8](repeating: 0, count: 12)
        appendUInt32(crc32(header[0..<60]), to: &header)
        return header
    }

    // MARK: - Records

    static func encode(_ entry: Entry, into buffer: inout [UInt8]) {
        let start = buffer.count
        let prompt = Array(entry.prompt.utf8)
        appendUInt32(UInt32(prompt.count), to: &buffer)
        appendUInt32(entry.truncated ? 1 : 0, to: &buffer)
        buffer += prompt
        #if _endian(little)
        entry.embedding.withUnsafeBytes { buffer.append(contentsOf: $0) }
        #else
        for value in entry.embedding { appendUInt32(value.bitPattern, to: &buffer) }
        #endif
        appendUInt32(crc32(buffer[start...]), to: &buffer)
    }

    /// The size of the record at `offset` when it lies whole before `end`, else nil.
    private func recordSize(at offset: Int, in base: UnsafeRawPointer, end: Int) -> Int? {
        guard end - offset >= 8 else { return nil }
        let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let size = 12 + length + 4 * width
        return end - offset >= size ? size : nil
    }

    /// The embedding and truncation flag of the record at `offset`, or nil when it is not whole, is not of
    /// `prompt`, or its CRC does not match.
    private func record(at offset: Int, in base: UnsafeRawPointer, end: Int,
                        prompt: [UInt8]) -> (embedding: [Float], truncated: Bool)? {
        guard let size = recordSize(at: offset, in: base, end: end) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: size)
        let length = size - 12 - 4 * width
        guard length == prompt.count, prompt.elementsEqual(bytes[8..<(8 + length)]),
              Self.crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<(size - 4)]))
                == UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: size - 4, as: UInt32.self)) else { return nil }
        let flags = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        var embedding = [Float](repeating: 0, count: width)
        embedding.withUnsafeMutableBytes { out in
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(8 + length)..<(8 + length + 4 * width)]))
        }
        #if _endian(big)
        for d in embedding.indices { embedding[d] = Float(bitPattern: UInt32(littleEndian: embedding[d].bitPattern)) }
        #endif
        return (embedding, flags & 1 != 0)
    }

    /// Indexes the whole records from `validEnd` up to `end` (of the mapping); stops before a record cut short.
    private func walk(to end: Int) {
        guard let map else { return }
        let base = UnsafeRawPointer(map)
        while let size = recordSize(at: validEnd, in: base, end: end) {
            let length = size - 12 - 4 * width
            index[ExactText(bytes: Array(UnsafeRawBufferPointer(start: base + validEnd + 8, count: length)))] = validEnd
            validEnd += size
        }
    }

    /// Under the file lock: indexes what other processes appended, and cuts off a torn last record. False after a
    /// failure (warned).
    private func catchUp() -> Bool {
        var size = stat()
        guard fstat(fd, &size) == 0 else { fail("cannot read \(url.path): \(Self.errnoText())"); return false }
        let fileSize = Int(size.st_size)
        if fileSize < validEnd {
            // Shortened from outside: index it again.
            index = [:]
            validEnd = Self.headerSize
        }
        if fileSize > mapLength { remap(size: fileSize) }
        walk(to: min(fileSize, mapLength))
        if validEnd < fileSize {
            warn("\(url.path): the last record is incomplete (\(fileSize - validEnd) bytes, written by a run that "
                 + "stopped while writing); it is cut off")
            guard ftruncate(fd, off_t(validEnd)) == 0 else {
                fail("cannot truncate \(url.path): \(Self.errnoText()); new text embeddings are not cached")
                return false
            }
        }
        return true
    }

    // MARK: - System calls

    private func lockFile() -> Bool {
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            fail("cannot lock \(url.path): \(Self.errnoText()); new text embeddings are not cached")
            return false
        }
        return true
    }

    /// Writes all of `bytes` at `offset`; the error's text, or nil on success.
    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> String? {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return Self.errnoText()
            }
            if n == 0 { return "nothing written" }
            done += n
        }
        return nil
    }

    /// Maps the first `size` bytes of the file (the whole file when nil).
    private func remap(size: Int? = nil) {
        let length: Int
        if let size {
            length = size
        } else {
            var info = stat()
            guard fstat(fd, &info) == 0 else { return }
            length = Int(info.st_size)
        }
        unmap()
        guard length > 0 else { return }
        guard let pointer = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), pointer != MAP_FAILED else {
            fail("cannot map \(url.path): \(Self.errnoText()); text embeddings are not cached")
            return
        }
        map = pointer
        mapLength = length
    }

    private func unmap() {
        if let map { munmap(map, mapLength) }
        map = nil
        mapLength = 0
    }

    private func closeFile() {
        unmap()
        if fd >= 0 { close(fd) }
        fd = -1
        index = [:]
        validEnd = 0
    }

    /// Warns once and stops using the cache.
    private func fail(_ message: String) {
        if !disabled { warn(message) }
        disabled = true
        closeFile()
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func reason(_ error: Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = Int32(exactly: underlying.code) {
            return String(cString: strerror(code))
        }
        return error.localizedDescription
    }

    // MARK: - Bytes

    static func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: value))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    /// CRC-32 (IEEE 802.3, reflected): zlib's `crc32`.
    static func crc32(_ bytes: some Collection<UInt8>) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ crc32(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(bytes).withUnsafeBytes { crc32($0) }
    }

    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CZlib.crc32(0, nil, 0)
        var rest = bytes
        // zlib takes a 32-bit length: records are far smaller, but any size is handled.
        while !rest.isEmpty {
            let chunk = min(rest.count, Int(UInt32.max))
            crc = CZlib.crc32(crc, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), uInt(chunk))
            rest = UnsafeRawBufferPointer(rebasing: rest[chunk...])
        }
        return UInt32(crc)
    }
}

/// A text by its exact UTF-8 bytes, as a dictionary key: Swift's `String` equality and hashing are up to canonical
/// equivalence ("café" precomposed equals "cafe" + U+0301), which a tokenizer need not be. Hashes the bytes at once.
struct ExactText: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ text: String) { bytes = Array(text.utf8) }
    init(bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ExactText, b: ExactText) -> Bool { a.bytes == b.bytes }
}
