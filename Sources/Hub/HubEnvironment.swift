import Foundation

/// Where the Hugging Face cache lives, which Hub endpoint to talk to, with which token, and whether
/// the network may be used at all.
///
/// `fromProcessEnvironment` reads the same variables, with the same precedence, as `huggingface_hub`
/// (`huggingface_hub/constants.py` and `utils/_auth.py`), so that a model a Python user already downloaded is
/// found in the same place.
public struct HubEnvironment: Sendable, Equatable {
    /// The hub cache root, e.g. `~/.cache/huggingface/hub`. Repos live in `models--ORG--NAME/` below it.
    public var cacheDirectory: URL
    /// The Hub endpoint without a trailing slash, e.g. `https://huggingface.co`.
    public var endpoint: URL
    /// A user access token sent as `Authorization: Bearer <token>` to the endpoint's host (gated and private repos).
    public var token: String?
    /// When `true`, nothing touches the network: only the cache and local directories are used.
    public var offline: Bool
    /// Seconds to wait for the metadata of a file or repo (`HF_HUB_ETAG_TIMEOUT`, default 10, as huggingface_hub).
    public var metadataTimeout: TimeInterval
    /// Seconds without any received byte after which a download is abandoned and retried
    /// (`HF_HUB_DOWNLOAD_TIMEOUT`, default 10, as huggingface_hub).
    public var downloadTimeout: TimeInterval

    /// The public Hub, `https://huggingface.co`.
    public static let defaultEndpoint = URL(string: "https://huggingface.co")!

    public init(
        cacheDirectory: URL,
        endpoint: URL = HubEnvironment.defaultEndpoint,
        token: String? = nil,
        offline: Bool = false,
        metadataTimeout: TimeInterval = 10,
        downloadTimeout: TimeInterval = 10
    ) {
        self.cacheDirectory = cacheDirectory
        self.endpoint = endpoint
        self.token = token
        self.offline = offline
        self.metadataTimeout = metadataTimeout
        self.downloadTimeout = downloadTimeout
    }

    /// Reads the environment as huggingface_hub does:
    /// - cache: `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where `HF_HOME`
    ///   defaults to `$XDG_CACHE_HOME/huggingface`, and `XDG_CACHE_HOME` to `~/.cache`
    ///   (`~` and `$VAR` are expanded in `HF_HOME`, `HF_HUB_CACHE` and `HF_TOKEN_PATH`);
    /// - endpoint: `HF_ENDPOINT` (trailing `/` removed), else `https://huggingface.co`;
    /// - token: `HF_TOKEN`, else the legacy `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH`, else
    ///   `$HF_HOME/token` (the file `hf auth login` writes); line breaks and surrounding spaces removed,
    ///   empty means none;
    /// - offline: `HF_HUB_OFFLINE`, else `TRANSFORMERS_OFFLINE`, true when `1`, `ON`, `YES` or `TRUE` (any case);
    /// - timeouts: `HF_HUB_ETAG_TIMEOUT`, `HF_HUB_DOWNLOAD_TIMEOUT` (whole seconds, default 10).
    public static func fromProcessEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) -> HubEnvironment {
        func value(_ name: String) -> String? {
            guard let v = env[name], !v.isEmpty else { return nil }
            return v
        }
        let home = homeDirectory(env)
        let defaultHome = (home as NSString).appendingPathComponent(".cache")
        let xdg = value("XDG_CACHE_HOME") ?? defaultHome
        let hfHome = expand(value("HF_HOME") ?? (xdg as NSString).appendingPathComponent("huggingface"), env)
        let hubCache = expand(
            value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? (hfHome as NSString).appendingPathComponent("hub"),
            env
        )

        var endpoint = defaultEndpoint
        if let raw = value("HF_ENDPOINT") {
            var trimmed = raw
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            if let url = URL(string: trimmed), url.scheme != nil, url.host != nil { endpoint = url }
        }

        var token = cleanToken(value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN"))
        if token == nil {
            let tokenPath = expand(value("HF_TOKEN_PATH") ?? (hfHome as NSString).appendingPathComponent("token"), env)
            if let text = try? String(contentsOfFile: tokenPath, encoding: .utf8) {
                token = cleanToken(text)
            }
        }

        let offlineValue = value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE")
        let offline = offlineValue.map { ["1", "ON", "YES", "TRUE"].contains($0.uppercased()) } ?? false

        func seconds(_ name: String) -> TimeInterval {
            if let v = value(name), let n = Int(v.trimmingCharacters(in: .whitespaces)), n > 0 { return TimeInterval(n) }
            return 10
        }

        return HubEnvironment(
            cacheDirectory: URL(fileURLWithPath: hubCache, isDirectory: true),
            endpoint: endpoint,
            token: token,
            offline: offline,
            metadataTimeout: seconds("HF_HUB_ETAG_TIMEOUT"),
            downloadTimeout: seconds("HF_HUB_DOWNLOAD_TIMEOUT")
        )
    }

    /// `\r` and `\n` removed, surrounding whitespace trimmed; empty becomes `nil` (as huggingface_hub's `_clean_token`).
    static func cleanToken(_ raw: String?) -> String? {
        guard let raw else { return nil }
        let cleaned = raw.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? nil : cleaned
    }

    static func homeDirectory(_ env: [String: String]) -> String {
        if let h = env["HOME"], !h.isEmpty { return h }
        return NSHomeDirectory()
    }

    /// `~` / `~/...` expansion followed by `$NAME` / `${NAME}` expansion; unknown variables are left as written
    /// (as Python's `os.path.expanduser` and `os.path.expandvars`).
    static func expand(_ path: String, _ env: [String: String]) -> String {
        var p = path
        if p == "~" || p.hasPrefix("~/") {
            p = homeDirectory(env) + p.dropFirst()
        }
        guard p.contains("$") else { return p }
        var out = ""
        var i = p.startIndex
        func isNameChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        while i < p.endIndex {
            let c = p[i]
            guard c == "$" else { out.append(c); i = p.index(after: i); continue }
            let next = p.index(after: i)
            if next < p.endIndex, p[next] == "{", let close = p[next...].firstIndex(of: "}") {
                let name = String(p[p.index(after: next)..<close])
                if let v = env[name] { out += v } else { out += p[i...close] }
                i = p.index(after: close)
            } else {
                var end = next
                while end < p.endIndex, isNameChar(p[end]) { end = p.index(after: end) }
                let name = String(p[next..<end])
                if !name.isEmpty, let v = env[name] { out += v } else { out += p[i..<end] }
                i = end
            }
        }
        return out
    }
}
