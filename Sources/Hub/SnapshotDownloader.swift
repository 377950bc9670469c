import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a `HEAD {endpoint}/{repo}/resolve/{commit}/{file}` tells, as huggingface_hub's `get_hf_file_metadata`.
struct FileMetadata {
    /// `X-Repo-Commit`.
    var commit: String
    /// `X-Linked-Etag`, else `ETag`, without `W/` and quotes: the blob's name in the cache (git sha1 of a regular
    /// file, sha256 of an LFS file).
    var etag: String
    /// `X-Linked-Size`, else `Content-Length` of a non-redirect response.
    var size: Int64?
    /// Where to GET the content: the redirect target (the CDN for LFS files) or the resolve URL itself.
    var location: URL
}

/// Downloads the files a `FileSelection` names, at one commit, into the cache, as huggingface_hub's
/// `snapshot_download` with `allow_patterns`: `GET /api/models/{repo}/revision/{revision}` for the commit and the
/// file list, then per file a `HEAD` on the resolve URL (following only redirects that stay on the Hub), a `GET` of
/// the content into `blobs/<etag>.incomplete` (resumed with `Range` when a partial file is there), a rename to
/// `blobs/<etag>`, the snapshot symlink, and finally `refs/<revision>`.
///
/// Which files: every required file; the safetensors weights (`model.safetensors`, else the index and every shard
/// it names); for each choice, the first alternative the repo lists completely; the optional files the repo lists.
/// Before anything is fetched (but the weights index, which names the shards), a repo that lacks a required
/// file, the weights or every alternative of a choice is refused with `HubError.unsupportedRepository`.
struct SnapshotDownloader {
    let environment: HubEnvironment
    let cache: RepoCache
    let files: FileSelection
    let progress: (@Sendable (String) -> Void)?

    var reference: RepoReference { cache.reference }
    private var repoID: String { reference.repoID }

    /// Attempts of one blob download that each received data before failing (huggingface_hub retries 5 times).
    private let maxResumes = 5

    func run() throws -> URL {
        let (commit, siblings) = try repositoryInfo()
        let snapshot = cache.snapshotDirectory(commit)
        cache.writeCacheDirTag()

        func has(_ f: String) -> Bool { siblings.contains(f) }
        let revision = reference.revision
        for file in files.required where !has(file) {
            throw HubError.unsupportedRepository(repo: repoID, reason: "no \(file) at revision '\(revision)'")
        }
        let weightsIndex = FileSelection.safetensorsIndex
        if files.safetensorsWeights && !has(FileSelection.safetensorsFile) && !has(weightsIndex) {
            let bin = has("pytorch_model.bin") || has("pytorch_model.bin.index.json")
            throw HubError.unsupportedRepository(
                repo: repoID,
                reason: "no \(FileSelection.safetensorsFile) or \(weightsIndex) at revision '\(revision)'"
                    + (bin ? " (only PyTorch .bin weights, which are not supported)" : ""))
        }

        var chosen: [[String]] = []
        for choice in files.choices {
            guard let alternative = choice.firstComplete(has) else {
                let partial = choice.partialAlternatives(has)
                throw HubError.unsupportedRepository(
                    repo: repoID,
                    reason: "no \(choice.name) at revision '\(revision)': the repo has none of "
                        + choice.alternatives.map { $0.joined(separator: " + ") }.joined(separator: "; ")
                        + (partial.isEmpty ? "" : " (it has \(partial.joined(separator: "; ")))"))
            }
            chosen.append(alternative)
        }

        var list = files.required
        if files.safetensorsWeights {
            if has(FileSelection.safetensorsFile) {
                list.append(FileSelection.safetensorsFile)
            } else {
                try ensure(weightsIndex, commit: commit)
                let shards = try FileSelection.shardNames(indexFile: snapshot.appendingPathComponent(weightsIndex))
                for shard in shards where !has(shard) {
                    throw HubError.fileNotFound(repo: repoID, revision: revision, file: shard)
                }
                list += [weightsIndex] + shards
            }
        }
        list += chosen.joined()
        list += files.optional.filter(has)
        var seen = Set<String>()
        for file in list where seen.insert(file).inserted { try ensure(file, commit: commit) }
        try cache.writeRef(revision: revision, commit: commit)

        let missing = files.missingFiles(in: snapshot)
        guard missing.isEmpty else {
            throw HubError.fileSystem(path: snapshot.path, reason: "still missing after download: \(missing.joined(separator: ", "))")
        }
        return snapshot
    }

    // MARK: - Repo info

    private var apiURL: URL {
        URL(string: environment.endpoint.absoluteString + "/api/models/" + repoID + "/revision/"
            + percentEncode(reference.revision, keepSlash: false))!
    }

    private func resolveURL(commit: String, file: String) -> URL {
        URL(string: environment.endpoint.absoluteString + "/" + repoID + "/resolve/" + percentEncode(commit, keepSlash: false)
            + "/" + percentEncode(file, keepSlash: true))!
    }

    /// The commit sha of the revision and the repo's file names (`sha`, `siblings[].rfilename`).
    private func repositoryInfo() throws -> (String, Set<String>) {
        let url = apiURL
        progress?("Fetching the file list of \(reference) from \(environment.endpoint.absoluteString)")
        let result = HTTP.perform(request(url, method: "GET"), followRedirects: true, timeout: environment.metadataTimeout)
        let response = try checkTransport(result, url: url)
        guard response.statusCode == 200 else { throw statusError(result, url: url, file: nil) }
        guard let object = try? JSONSerialization.jsonObject(with: result.body) as? [String: Any] else {
            throw HubError.invalidResponse(url: url.absoluteString, reason: "the body is not a JSON object")
        }
        guard let sha = object["sha"] as? String, RepoReference.isCommitHash(sha) else {
            throw HubError.invalidResponse(url: url.absoluteString, reason: "no 40-hex-digit commit 'sha'")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw HubError.invalidResponse(url: url.absoluteString, reason: "no 'siblings' file list")
        }
        let names = siblings.compactMap { $0["rfilename"] as? String }
        return (sha, Set(names))
    }

    // MARK: - Files

    /// Makes `snapshots/<commit>/<file>` exist, downloading the blob unless the cache already has it.
    private func ensure(_ file: String, commit: String) throws {
        guard RepoReference.isSafeRelativePath(file) else {
            throw HubError.invalidResponse(url: apiURL.absoluteString, reason: "file name '\(file)' is not a path inside the repo")
        }
        let pointer = cache.snapshotDirectory(commit).appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: pointer.path) { return }
        let metadata = try fileMetadata(file, commit: commit)
        guard metadata.commit == commit else {
            throw HubError.invalidResponse(
                url: resolveURL(commit: commit, file: file).absoluteString,
                reason: "X-Repo-Commit is \(metadata.commit), expected \(commit)")
        }
        let blob = cache.blob(metadata.etag)
        if !FileManager.default.fileExists(atPath: blob.path) {
            let lock = try FileLock(cache.lockFile(metadata.etag))
            if !FileManager.default.fileExists(atPath: blob.path) {
                try download(file, metadata: metadata)
            }
            withExtendedLifetime(lock) {}
        }
        try cache.createPointer(commit: commit, file: file, etag: metadata.etag)
    }

    /// HEAD on the resolve URL, following redirects only while they stay on the Hub (same origin, or a Hub host).
    private func fileMetadata(_ file: String, commit: String) throws -> FileMetadata {
        var url = resolveURL(commit: commit, file: file)
        for _ in 0..<10 {
            let result = HTTP.perform(request(url, method: "HEAD"), followRedirects: false, timeout: environment.metadataTimeout)
            let response = try checkTransport(result, url: url)
            let status = response.statusCode
            var location = url
            if (300..<400).contains(status) {
                guard let raw = result.header("Location"), let target = URL(string: raw, relativeTo: url)?.absoluteURL else {
                    throw HubError.invalidResponse(url: url.absoluteString, reason: "HTTP \(status) without a Location")
                }
                if isHubURL(target, from: url) {
                    url = target
                    continue
                }
                location = target
            } else if status != 200 {
                if status == 404, let commitHeader = result.header("X-Repo-Commit"),
                    RepoReference.isCommitHash(commitHeader), result.header("X-Error-Code") == "EntryNotFound"
                {
                    cache.markNoExist(commit: commitHeader, file: file)
                }
                throw statusError(result, url: url, file: file)
            }
            guard let repoCommit = result.header("X-Repo-Commit") else {
                throw HubError.invalidResponse(url: url.absoluteString, reason: "no X-Repo-Commit header")
            }
            guard let etag = normalizeETag(result.header("X-Linked-Etag") ?? result.header("ETag")) else {
                throw HubError.invalidResponse(url: url.absoluteString, reason: "no usable ETag header")
            }
            let sizeText = result.header("X-Linked-Size") ?? ((300..<400).contains(status) ? nil : result.header("Content-Length"))
            return FileMetadata(
                commit: repoCommit, etag: etag, size: sizeText.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) },
                location: location)
        }
        throw HubError.invalidResponse(url: url.absoluteString, reason: "too many redirects")
    }

    /// GET the content into `blobs/<etag>.incomplete`, resuming from its current size with `Range: bytes=N-`,
    /// then rename it to `blobs/<etag>`. Called with the blob's lock held.
    private func download(_ file: String, metadata: FileMetadata) throws {
        let incomplete = cache.incompleteBlob(metadata.etag)
        try createDirectory(incomplete.deletingLastPathComponent())
        if !FileManager.default.fileExists(atPath: incomplete.path) {
            guard FileManager.default.createFile(atPath: incomplete.path, contents: nil) else {
                throw HubError.fileSystem(path: incomplete.path, reason: "cannot create file")
            }
        }
        let expected = metadata.size
        let reporter = ProgressReporter(file: file, total: expected, progress: progress)
        var resumes = 0
        var restarts = 0
        while true {
            var offset = fileSize(incomplete)
            if let expected, offset > expected {
                try truncate(incomplete, to: 0)
                offset = 0
            }
            if let expected, offset == expected { break }
            reporter.start(offset: offset)

            var req = request(metadata.location, method: "GET")
            if offset > 0 { req.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
            let handle: FileHandle
            do { handle = try FileHandle(forWritingTo: incomplete) } catch {
                throw HubError.fileSystem(path: incomplete.path, reason: "cannot open for writing: \(error.localizedDescription)")
            }
            let outcome = SinkOutcome()
            let result = HTTP.perform(
                req, followRedirects: true, timeout: environment.downloadTimeout,
                bodySink: { response in
                    switch response.statusCode {
                    case 200:
                        // The server ignored the Range: start over (as huggingface_hub's http_get).
                        guard (try? handle.truncate(atOffset: 0)) != nil else { return nil }
                        outcome.set(.writing)
                        return handle
                    case 206:
                        guard let start = contentRangeStart(response.headerValue("Content-Range")), start == offset,
                            (try? handle.seekToEnd()) == UInt64(offset)
                        else {
                            outcome.set(.badRange)
                            return nil
                        }
                        outcome.set(.writing)
                        return handle
                    default:
                        return nil
                    }
                },
                onData: { reporter.add($0) })
            try? handle.close()

            let status = result.response?.statusCode ?? 0
            let received = fileSize(incomplete) - offset
            let restart = outcome.value == .badRange || (outcome.value == nil && status == 416)
            switch outcome.value {
            case _ where restart:
                try truncate(incomplete, to: 0)
                restarts += 1
                guard restarts < 2 else {
                    throw HubError.invalidResponse(url: metadata.location.absoluteString, reason: "the server does not honour Range requests")
                }
                continue
            case .writing where result.error == nil:
                let size = fileSize(incomplete)
                if let expected, size != expected {
                    if size > expected { try? FileManager.default.removeItem(at: incomplete) }
                    throw HubError.sizeMismatch(file: file, expected: expected, received: size)
                }
            case .writing:
                // Interrupted mid-body: keep what arrived and resume while data keeps coming.
                if received > 0 && resumes < maxResumes {
                    resumes += 1
                    continue
                }
                _ = try checkTransport(HTTPResult(response: nil, body: Data(), error: result.error), url: metadata.location)
                throw HubError.invalidResponse(url: metadata.location.absoluteString, reason: "transfer failed")
            default:
                _ = try checkTransport(result, url: metadata.location)
                throw statusError(result, url: metadata.location, file: file)
            }
            break
        }
        reporter.finish()
        try replace(incomplete, with: cache.blob(metadata.etag))
    }

    // MARK: - HTTP helpers

    private func request(_ url: URL, method: String) -> URLRequest {
        var req = URLRequest(url: url)
        req.httpMethod = method
        req.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        req.setValue("zeroshot/1 (huggingface_hub compatible)", forHTTPHeaderField: "User-Agent")
        if let token = environment.token, isHubURL(url, from: environment.endpoint) {
            req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        return req
    }

    /// Same origin as `base`, or a host of the Hub itself: such URLs get the token and their redirects are followed
    /// (as huggingface_hub's `_is_same_or_hub_host`); others (a CDN, signed storage URLs) do not.
    private func isHubURL(_ url: URL, from base: URL) -> Bool {
        if urlOrigin(url) == urlOrigin(base) { return true }
        let hubHosts: Set<String> = ["huggingface.co", "hf.co"]
        guard let host = url.host?.lowercased(), let baseHost = base.host?.lowercased() else { return false }
        return url.scheme?.lowercased() == "https" && hubHosts.contains(host) && hubHosts.contains(baseHost)
    }

    /// The response, or the transport error as a `HubError`.
    private func checkTransport(_ result: HTTPResult, url: URL) throws -> HTTPURLResponse {
        if let response = result.response, result.error == nil || response.statusCode >= 300 { return response }
        if let error = result.error as? HubError { throw error }
        let reason: String
        if let urlError = result.error as? URLError {
            reason = urlError.code == .timedOut ? "timed out" : urlError.localizedDescription
        } else if let error = result.error {
            reason = error.localizedDescription
        } else {
            reason = "no response"
        }
        throw HubError.networkUnavailable(
            repo: repoID, url: url.absoluteString, reason: reason, cacheDirectory: environment.cacheDirectory.path)
    }

    /// Maps an HTTP failure to a `HubError`, using the Hub's `X-Error-Code` as huggingface_hub's `hf_raise_for_status`.
    private func statusError(_ result: HTTPResult, url: URL, file: String?) -> HubError {
        let status = result.response?.statusCode ?? 0
        let code = result.header("X-Error-Code")
        switch status {
        case 401, 403:
            return .accessDenied(
                repo: repoID, url: url.absoluteString, status: status, tokenSent: environment.token != nil,
                gated: code == "GatedRepo")
        case 404:
            switch code {
            case "RevisionNotFound":
                return .revisionNotFound(repo: repoID, revision: reference.revision, url: url.absoluteString)
            case "EntryNotFound":
                return .fileNotFound(repo: repoID, revision: reference.revision, file: file ?? url.lastPathComponent)
            case "RepoNotFound":
                return .repoNotFound(repo: repoID, url: url.absoluteString)
            default:
                if let file { return .fileNotFound(repo: repoID, revision: reference.revision, file: file) }
                return .repoNotFound(repo: repoID, url: url.absoluteString)
            }
        default:
            var message = result.header("X-Error-Message") ?? ""
            if message.isEmpty, let text = String(data: result.body.prefix(300), encoding: .utf8) {
                message = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return .httpStatus(url: url.absoluteString, status: status, message: message)
        }
    }
}

// MARK: - Small helpers

/// `W/"abc"` or `"abc"` → `abc` (huggingface_hub's `_normalize_etag`); `nil` unless the result is a safe file name.
func normalizeETag(_ raw: String?) -> String? {
    guard let raw else { return nil }
    var s = Substring(raw.trimmingCharacters(in: .whitespaces))
    while let c = s.first, c == "W" || c == "/" { s = s.dropFirst() }
    while s.first == "\"" { s = s.dropFirst() }
    while s.last == "\"" { s = s.dropLast() }
    let etag = String(s)
    let allowed = etag.utf8.allSatisfy {
        (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == UInt8(ascii: "-")
            || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
    }
    guard !etag.isEmpty, etag.utf8.count <= 200, allowed, !etag.hasPrefix(".") else { return nil }
    return etag
}

/// `bytes 100-199/200` → 100.
func contentRangeStart(_ header: String?) -> Int64? {
    guard let header else { return nil }
    let parts = header.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bytes", let dash = parts[1].firstIndex(of: "-") else { return nil }
    return Int64(parts[1][..<dash])
}

/// Percent-encodes all but `A-Za-z0-9_.-~` (and `/` when `keepSlash`), as Python's `urllib.parse.quote`.
func percentEncode(_ s: String, keepSlash: Bool) -> String {
    var out = ""
    for byte in s.utf8 {
        let c = Character(Unicode.Scalar(byte))
        if byte < 128 && (c.isLetter || c.isNumber || "_.-~".contains(c) || (keepSlash && c == "/")) {
            out.append(c)
        } else {
            out += String(format: "%%%02X", byte)
        }
    }
    return out
}

func fileSize(_ url: URL) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value ?? 0
}

func truncate(_ url: URL, to size: UInt64) throws {
    do {
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: size)
        try handle.close()
    } catch {
        throw HubError.fileSystem(path: url.path, reason: "cannot truncate: \(error.localizedDescription)")
    }
}

/// What the body sink decided for the response head.
private final class SinkOutcome: @unchecked Sendable {
    enum Value { case writing, badRange }
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ v: Value) { lock.lock(); stored = v; lock.unlock() }
}

/// Turns byte counts into a few status lines per file (start, every 10 %, end).
private final class ProgressReporter: @unchecked Sendable {
    private let file: String
    private let total: Int64?
    private let progress: (@Sendable (String) -> Void)?
    private let lock = NSLock()
    private var done: Int64 = 0
    private var lastDecile: Int64 = -1

    init(file: String, total: Int64?, progress: (@Sendable (String) -> Void)?) {
        self.file = file
        self.total = total
        self.progress = progress
    }

    func start(offset: Int64) {
        lock.lock()
        done = offset
        lastDecile = total.map { $0 > 0 ? offset * 10 / $0 : 0 } ?? -1
        lock.unlock()
        let size = total.map { " (\(formatBytes($0)))" } ?? ""
        if offset > 0 {
            progress?("Resuming \(file) at \(formatBytes(offset))\(size)")
        } else {
            progress?("Downloading \(file)\(size)")
        }
    }

    func add(_ count: Int) {
        guard let total, total >= 10 << 20 else { return }
        lock.lock()
        done += Int64(count)
        let decile = done * 10 / total
        let report = decile > lastDecile && decile < 10
        if report { lastDecile = decile }
        let value = done
        lock.unlock()
        if report { progress?("  \(file): \(decile * 10)% (\(formatBytes(value)))") }
    }

    func finish() { progress?("Downloaded \(file)") }
}

func formatBytes(_ n: Int64) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KB", "MB", "GB", "TB"]
    var value = Double(n) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return String(format: "%.1f %@", value, units[unit])
}
