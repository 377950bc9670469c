import Foundation
import TestSupport
@testable import Hub

/// The two repos of Tests/Fixtures/hub/repos.json (written by Tools/reference/hub_cache_layout.py).
struct FixtureRepo {
    struct File {
        var data: Data
        var etag: String
        var pointerEtag: String
        var lfs: Bool
    }
    var id: String
    var sha: String
    var files: [String: File]
    /// The files a CLIP load fetches (the ones huggingface_hub was asked for when the golden layout was made).
    var download: [String]

    static func loadAll() throws -> [FixtureRepo] {
        let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("hub/repos.json"))
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return try list.map { item in
            guard let id = item["id"] as? String, let sha = item["sha"] as? String,
                let download = item["download"] as? [String], let files = item["files"] as? [String: [String: Any]]
            else { throw CocoaError(.fileReadCorruptFile) }
            var out: [String: File] = [:]
            for (name, f) in files {
                guard let b64 = f["base64"] as? String, let bytes = Data(base64Encoded: b64),
                    let etag = f["etag"] as? String, let pointer = f["pointer_etag"] as? String, let lfs = f["lfs"] as? Bool
                else { throw CocoaError(.fileReadCorruptFile) }
                out[name] = File(data: bytes, etag: etag, pointerEtag: pointer, lfs: lfs)
            }
            return FixtureRepo(id: id, sha: sha, files: out, download: download)
        }
    }
}

/// Serves repos the way huggingface.co does, on two loopback servers: the Hub (`/api/models/...`, `/resolve/...`)
/// and a "CDN" (another origin) that LFS files redirect to, with Range support.
final class FakeHub: @unchecked Sendable {
    final class State: @unchecked Sendable {
        let lock = NSLock()
        var repos: [String: FixtureRepo] = [:]
        /// Other branch names accepted besides `main` and the commit hash.
        var branches: Set<String> = []
        var gated: Set<String> = []
        var privateRepos: Set<String> = []
        var token: String? = nil
        /// Files listed in `siblings` but answered with 404 EntryNotFound.
        var hidden: Set<String> = []
        /// CDN: close every body after this many bytes.
        var cutAfter: Int? = nil
        var ignoreRange = false
        /// CDN: send bodies in pieces, pausing between them.
        /// Hub: answer resolve URLs of regular files with a relative 307 to `/api/resolve-cache/...`, as
        /// huggingface.co does; the metadata is then on the final 200.
        var resolveCacheRedirect = true
        var slowPieces = 1
        var slowPause: TimeInterval = 0
        var cdnBase = ""

        func with<T>(_ body: (State) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(self)
        }
    }

    let state = State()
    let hub: LoopbackServer
    let cdn: LoopbackServer

    init(repos: [FixtureRepo]) throws {
        let state = self.state
        for r in repos { state.repos[r.id] = r }
        cdn = try LoopbackServer { request in FakeHub.cdnRoute(request, state) }
        state.cdnBase = cdn.baseURL.absoluteString
        hub = try LoopbackServer { request in FakeHub.hubRoute(request, state) }
    }

    func stop() {
        hub.stop()
        cdn.stop()
    }

    private static func json(_ object: Any) -> Data { (try? JSONSerialization.data(withJSONObject: object)) ?? Data() }

    static func hubRoute(_ request: LoopbackServer.Request, _ state: State) -> LoopbackServer.Response {
        state.with { s in
            let path = request.path.components(separatedBy: "?")[0]
            let authorized = s.token != nil && request.headers["authorization"] == "Bearer \(s.token!)"
            if path.hasPrefix("/api/resolve-cache/models/") {
                // /api/resolve-cache/models/{org}/{name}/{commit}/{file}
                let parts = path.split(separator: "/").map(String.init)
                guard parts.count >= 7, let repo = s.repos[parts[3] + "/" + parts[4]], parts[5] == repo.sha,
                    let file = repo.files[parts[6...].joined(separator: "/")]
                else { return .init(status: 404) }
                return .init(status: 200, headers: [("X-Repo-Commit", repo.sha), ("ETag", "\"\(file.etag)\"")], body: file.data)
            }
            if path.hasPrefix("/api/models/") {
                let rest = String(path.dropFirst("/api/models/".count))
                guard let range = rest.range(of: "/revision/") else { return .init(status: 404) }
                let id = String(rest[..<range.lowerBound])
                let revision = String(rest[range.upperBound...]).removingPercentEncoding ?? ""
                guard let repo = s.repos[id] else {
                    return .init(status: 404, headers: [("X-Error-Code", "RepoNotFound")])
                }
                if s.privateRepos.contains(id) && !authorized {
                    return .init(status: 401, headers: [("X-Error-Code", "RepoNotFound")])
                }
                guard revision == "main" || revision == repo.sha || s.branches.contains(revision) else {
                    return .init(status: 404, headers: [("X-Error-Code", "RevisionNotFound")])
                }
                let body = json([
                    "id": id, "sha": repo.sha, "private": s.privateRepos.contains(id), "gated": s.gated.contains(id),
                    "siblings": repo.files.keys.sorted().map { ["rfilename": $0] },
                ])
                return .init(status: 200, headers: [("Content-Type", "application/json")], body: body)
            }
            let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 5, parts[2] == "resolve", let repo = s.repos[parts[0] + "/" + parts[1]] else {
                return .init(status: 404, headers: [("X-Error-Code", "RepoNotFound")])
            }
            let id = repo.id
            if (s.gated.contains(id) || s.privateRepos.contains(id)) && !authorized {
                let code = s.gated.contains(id) ? "GatedRepo" : "RepoNotFound"
                return .init(status: request.headers["authorization"] == nil ? 401 : 403, headers: [("X-Error-Code", code)])
            }
            let revision = parts[3].removingPercentEncoding ?? ""
            guard revision == "main" || revision == repo.sha || s.branches.contains(revision) else {
                return .init(status: 404, headers: [("X-Error-Code", "RevisionNotFound")])
            }
            let name = parts[4...].joined(separator: "/").removingPercentEncoding ?? ""
            let commit = ("X-Repo-Commit", repo.sha)
            guard let file = repo.files[name], !s.hidden.contains(name) else {
                return .init(status: 404, headers: [("X-Error-Code", "EntryNotFound"), commit])
            }
            if file.lfs {
                return .init(status: 302, headers: [
                    commit, ("Location", "\(s.cdnBase)/blobs/\(file.etag)?X-Amz-Signature=abc"),
                    ("ETag", "\"\(file.pointerEtag)\""), ("X-Linked-Etag", "\"\(file.etag)\""),
                    ("X-Linked-Size", "\(file.data.count)"),
                ])
            }
            if s.resolveCacheRedirect {
                let target = "/api/resolve-cache/models/\(id)/\(repo.sha)/\(name)?etag=%22\(file.etag)%22"
                return .init(status: 307, headers: [commit, ("Location", target), ("ETag", "\"\(file.etag)\"")])
            }
            return .init(status: 200, headers: [commit, ("ETag", "\"\(file.etag)\"")], body: file.data)
        }
    }

    static func cdnRoute(_ request: LoopbackServer.Request, _ state: State) -> LoopbackServer.Response {
        state.with { s in
            let path = request.path.components(separatedBy: "?")[0]
            let etag = path.components(separatedBy: "/").last ?? ""
            guard let file = s.repos.values.flatMap({ $0.files.values }).first(where: { $0.etag == etag }) else {
                return .init(status: 404)
            }
            var start = 0
            if !s.ignoreRange, let range = request.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
                let n = Int(range.dropFirst(6).dropLast())
            {
                guard n < file.data.count else {
                    return .init(status: 416, headers: [("Content-Range", "bytes */\(file.data.count)")])
                }
                start = n
            }
            let body = file.data.subdata(in: start..<file.data.count)
            var headers = [("ETag", "\"\(etag)\""), ("Accept-Ranges", "bytes")]
            if start > 0 { headers.append(("Content-Range", "bytes \(start)-\(file.data.count - 1)/\(file.data.count)")) }
            return .init(
                status: start > 0 ? 206 : 200, headers: headers, body: body, cutAfter: s.cutAfter, pieces: s.slowPieces,
                pause: s.slowPause)
        }
    }
}
