import Foundation

/// Reading a tokenizer file whole (tokenizer.json, vocab.json, merges.txt, vocab.txt, spiece.model, the configs).
enum FileContents {
    /// The bytes of the file at `url`, as `Data(contentsOf:options:)` reads them, except that an empty regular file
    /// gives empty data without calling it: on Linux, Foundation reads a file whose size is 0 in chunks (for /proc
    /// files) and leaks its 4 KiB buffer when nothing comes, once per read of an empty file.
    /// - Throws: the error of `Data(contentsOf:options:)` (a missing or unreadable file).
    static func read(_ url: URL, options: Data.ReadingOptions = []) throws -> Data {
        if url.isFileURL {
            let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd >= 0 {
                defer { close(fd) }
                var st = stat()
                if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size == 0 { return Data() }
            }
        }
        return try Data(contentsOf: url, options: options)
    }
}
