import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One model repo inside the Hugging Face cache, laid out as huggingface_hub lays it out:
///
///     <cache>/CACHEDIR.TAG
///     <cache>/.locks/models--org--name/<etag>.lock
///     <cache>/models--org--name/refs/<revision>            (a commit hash, no newline)
///     <cache>/models--org--name/blobs/<etag>               (file contents; `<etag>.incomplete` while downloading)
///     <cache>/models--org--name/snapshots/<commit>/<file>  (relative symlink to ../../blobs/<etag>)
///     <cache>/models--org--name/.no_exist/<commit>/<file>  (empty marker: the file is not in the repo)
struct RepoCache {
    let cacheDirectory: URL
    let reference: RepoReference

    var storage: URL { cacheDirectory.appendingPathComponent(reference.cacheFolderName, isDirectory: true) }

    func snapshotDirectory(_ commit: String) -> URL {
        storage.appendingPathComponent("snapshots", isDirectory: true).appendingPathComponent(commit, isDirectory: true)
    }

    func blob(_ etag: String) -> URL { storage.appendingPathComponent("blobs").appendingPathComponent(etag) }

    func incompleteBlob(_ etag: String) -> URL {
        storage.appendingPathComponent("blobs").appendingPathComponent(etag + ".incomplete")
    }

    func lockFile(_ etag: String) -> URL {
        cacheDirectory.appendingPathComponent(".locks").appendingPathComponent(reference.cacheFolderName)
            .appendingPathComponent(etag + ".lock")
    }

    func refFile(_ revision: String) -> URL {
        storage.appendingPathComponent("refs").appendingPathComponent(revision)
    }

    func noExistMarker(commit: String, file: String) -> URL {
        storage.appendingPathComponent(".no_exist").appendingPathComponent(commit).appendingPathComponent(file)
    }

    /// The commit the revision points to locally: the revision itself when it is a full commit hash, else the
    /// content of `refs/<revision>` (surrounding whitespace ignored), else `nil`.
    func localCommit() -> String? {
        if reference.revisionIsCommitHash { return reference.revision }
        guard let text = try? String(contentsOf: refFile(reference.revision), encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard RepoReference.isSafeRelativePath(commit), !commit.contains("/") else { return nil }
        return commit
    }

    /// Writes `refs/<revision>` = `commit` atomically (temporary file then rename), only when the revision is not
    /// the commit itself and the stored value differs, as huggingface_hub's `_cache_commit_hash_for_specific_revision`.
    func writeRef(revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = refFile(revision)
        if let existing = try? String(contentsOf: ref, encoding: .utf8), existing == commit { return }
        try createDirectory(ref.deletingLastPathComponent())
        let tmp = ref.deletingLastPathComponent().appendingPathComponent(".\(ref.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(commit.utf8).write(to: tmp)
            try replace(tmp, with: ref)
        } catch let error as HubError {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw HubError.fileSystem(path: ref.path, reason: "\(error)")
        }
    }

    /// Creates `snapshots/<commit>/<file>` as a relative symlink to `blobs/<etag>` (`../../blobs/<etag>`, one more
    /// `../` per subdirectory of `file`), replacing whatever was there, atomically (symlink then rename).
    func createPointer(commit: String, file: String, etag: String) throws {
        let pointer = snapshotDirectory(commit).appendingPathComponent(file)
        let depth = file.split(separator: "/").count + 1  // <file dirs> + <commit> + snapshots
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        try createDirectory(pointer.deletingLastPathComponent())
        let tmp = pointer.deletingLastPathComponent().appendingPathComponent(".\(pointer.lastPathComponent).\(UUID().uuidString).tmp")
        guard symlink(target, tmp.path) == 0 else {
            throw HubError.fileSystem(path: pointer.path, reason: "cannot create symlink: \(String(cString: strerror(errno)))")
        }
        do {
            try replace(tmp, with: pointer)
        } catch {
            unlink(tmp.path)
            throw error
        }
    }

    /// Records that `file` does not exist at `commit` (an empty file), as huggingface_hub does after a 404.
    func markNoExist(commit: String, file: String) {
        let marker = noExistMarker(commit: commit, file: file)
        guard !FileManager.default.fileExists(atPath: marker.path) else { return }
        try? FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: marker.path, contents: Data())
    }

    /// Writes `CACHEDIR.TAG` in the cache root if absent (the Cache Directory Tagging Standard, with
    /// huggingface_hub's wording), so that backup tools skip the cache.
    func writeCacheDirTag() {
        let tag = cacheDirectory.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n"
            + "# This file is a cache directory tag created by huggingface_hub.\n"
            + "# For information about cache directory tags, see:\n"
            + "#\thttps://bford.info/cachedir/\n"
        try? Data(text.utf8).write(to: tag)
    }
}

func createDirectory(_ url: URL) throws {
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw HubError.fileSystem(path: url.path, reason: "cannot create directory: \(error.localizedDescription)")
    }
}

/// `rename(2)`: atomically puts `source` at `destination`, replacing it.
func replace(_ source: URL, with destination: URL) throws {
    guard rename(source.path, destination.path) == 0 else {
        throw HubError.fileSystem(
            path: destination.path, reason: "cannot move \(source.lastPathComponent) into place: \(String(cString: strerror(errno)))")
    }
}

/// An exclusive advisory lock (`flock`) on a lock file, as huggingface_hub's `WeakFileLock` on
/// `.locks/models--org--name/<etag>.lock`: two processes never write the same blob at once.
final class FileLock {
    private let fd: Int32

    /// Waits for the lock, polling, for at most `timeout` seconds.
    init(_ url: URL, timeout: TimeInterval = 600) throws {
        try createDirectory(url.deletingLastPathComponent())
        fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw HubError.fileSystem(path: url.path, reason: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(fd)
                throw HubError.fileSystem(path: url.path, reason: "cannot lock: another process holds it")
            }
            usleep(100_000)
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
