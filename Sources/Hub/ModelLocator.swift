import Foundation

/// Finds the directory of a model: a local directory as is, or a Hub repo id through the Hugging Face cache
/// (`HubEnvironment.cacheDirectory`), downloading the files the caller's `FileSelection` names into that cache, in
/// huggingface_hub's layout, when the cached snapshot does not satisfy the selection and the network may be used.
///
/// A cached snapshot that satisfies the selection is used without any network access, even online (a branch such
/// as `main` is not checked for newer commits: pass `@<commit>` to pin another one, or delete `refs/<branch>` to
/// refresh). A local directory is returned as is, whatever files it holds: the loader reports what it lacks.
public struct ModelLocator: Sendable {
    public let environment: HubEnvironment
    /// The files a snapshot needs; the ones a download fetches.
    public let files: FileSelection

    /// The model used when none is given, `openai/clip-vit-base-patch32`.
    public static let defaultModelID = "openai/clip-vit-base-patch32"

    /// `ZEROSHOT_MODEL` when set and non-empty, else `defaultModelID`.
    public static func defaultModel(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environmentModel(env) ?? defaultModelID
    }

    /// `ZEROSHOT_MODEL`, trimmed, when set and non-empty.
    public static func environmentModel(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let m = env["ZEROSHOT_MODEL"]?.trimmingCharacters(in: .whitespaces), !m.isEmpty else { return nil }
        return m
    }

    public init(environment: HubEnvironment = .fromProcessEnvironment(), files: FileSelection) {
        self.environment = environment
        self.files = files
    }

    /// A local directory (if `idOrPath` is an existing directory) or a Hub repo id (`org/name`, optional
    /// `@revision`), resolved to a snapshot directory containing the model files; downloads when needed and allowed.
    ///
    /// - Parameters:
    ///   - idOrPath: a directory path (`~` expanded), or `org/name`, `name`, `org/name@branch`, `org/name@<commit>`.
    ///   - progress: human-readable status lines (which file is downloaded, its size, percent done).
    /// - Returns: the directory (for a repo id: `<cache>/models--org--name/snapshots/<commit>/`, holding the
    ///   files of `files`).
    /// - Throws: `HubError` (not cached while offline, network unreachable, gated/private repo, repo, revision or
    ///   file not found, a repo without the selection's files, cache write failure).
    public func resolve(_ idOrPath: String, progress: (@Sendable (String) -> Void)? = nil) async throws -> URL {
        // The work blocks on file and network I/O: run it on its own thread, not on the concurrency pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<URL, Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try self.resolveSync(idOrPath, progress: progress))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Blocking form of `resolve(_:progress:)`, for synchronous callers such as a command line tool.
    public func resolveSync(_ idOrPath: String, progress: (@Sendable (String) -> Void)? = nil) throws -> URL {
        if let directory = try localDirectory(idOrPath) { return directory }
        let reference = try RepoReference(parsing: idOrPath)
        let cache = RepoCache(cacheDirectory: environment.cacheDirectory, reference: reference)
        var missing: [String] = []
        if let commit = cache.localCommit() {
            let snapshot = cache.snapshotDirectory(commit)
            missing = files.missingFiles(in: snapshot)
            if missing.isEmpty { return snapshot }
        }
        if environment.offline {
            throw HubError.notCachedOffline(
                repo: reference.repoID, revision: reference.revision,
                cacheDirectory: environment.cacheDirectory.path, missing: missing)
        }
        return try SnapshotDownloader(environment: environment, cache: cache, files: files, progress: progress).run()
    }

    /// The cached snapshot of `reference` when it satisfies `files`, else `nil`; never touches the network.
    public func cachedSnapshot(_ reference: RepoReference) -> URL? {
        let cache = RepoCache(cacheDirectory: environment.cacheDirectory, reference: reference)
        guard let commit = cache.localCommit() else { return nil }
        let snapshot = cache.snapshotDirectory(commit)
        return files.missingFiles(in: snapshot).isEmpty ? snapshot : nil
    }

    /// The directory `idOrPath` names, if it names one; throws if it looks like a path but is not a directory.
    private func localDirectory(_ idOrPath: String) throws -> URL? {
        var path = idOrPath
        if path == "~" || path.hasPrefix("~/") {
            path = HubEnvironment.homeDirectory(ProcessInfo.processInfo.environment) + path.dropFirst()
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL }
            throw HubError.invalidModelReference(idOrPath, reason: "it is a file, not a directory")
        }
        let looksLikePath = idOrPath.hasPrefix("/") || idOrPath.hasPrefix("./") || idOrPath.hasPrefix("../")
            || idOrPath.hasPrefix("~") || idOrPath == "." || idOrPath == ".."
        if looksLikePath { throw HubError.directoryNotFound(idOrPath) }
        return nil
    }
}
