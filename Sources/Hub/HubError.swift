import Foundation

/// Why a model could not be located or downloaded. Every case names the input and the reason, and the cases the
/// user can act on say what to do.
public enum HubError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// `idOrPath` is neither an existing directory nor a valid Hub repo id (`org/name` or `name`, optional `@revision`).
    case invalidModelReference(String, reason: String)
    /// `idOrPath` looks like a file system path (starts with `/`, `./`, `../` or `~`) but no directory is there.
    case directoryNotFound(String)
    /// `HF_HUB_OFFLINE` is set and the cache has no complete snapshot of the model.
    case notCachedOffline(repo: String, revision: String, cacheDirectory: String, missing: [String])
    /// The Hub could not be reached (DNS, connection, timeout) and the cache has no complete snapshot.
    case networkUnavailable(repo: String, url: String, reason: String, cacheDirectory: String)
    /// 401/403: the repo is gated or private (or, without a token, possibly does not exist).
    case accessDenied(repo: String, url: String, status: Int, tokenSent: Bool, gated: Bool)
    /// 404 on the repo itself.
    case repoNotFound(repo: String, url: String)
    /// 404 on the revision (branch, tag or commit) of an existing repo.
    case revisionNotFound(repo: String, revision: String, url: String)
    /// A file to download is not in the repo at that revision (404 on the file, or a shard the weights index names
    /// absent from the file list).
    case fileNotFound(repo: String, revision: String, file: String)
    /// The repo is reachable but lacks files the caller's `FileSelection` needs: a required file, the safetensors
    /// weights, or every alternative of a choice (`reason` names them and the revision).
    case unsupportedRepository(repo: String, reason: String)
    /// Any other HTTP failure status.
    case httpStatus(url: String, status: Int, message: String)
    /// The server answered, but not the way the Hub does (missing `X-Repo-Commit`/`ETag`, bad JSON, bad paths).
    case invalidResponse(url: String, reason: String)
    /// A download ended with a size other than the one announced by the server.
    case sizeMismatch(file: String, expected: Int64, received: Int64)
    /// Reading or writing the cache failed.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidModelReference(let s, let reason):
            return "'\(s)' is neither an existing model directory nor a valid Hugging Face repo id (\(reason)). "
                + "Use a repo id such as `openai/clip-vit-base-patch32` (optionally `@revision`) or a directory "
                + "holding config.json and the weights."
        case .directoryNotFound(let path):
            return "Model directory '\(path)' does not exist."
        case .notCachedOffline(let repo, let revision, let cache, let missing):
            let what = missing.isEmpty ? "" : " (missing: \(missing.joined(separator: ", ")))"
            return "Model '\(repo)' (revision '\(revision)') is not in the Hugging Face cache at \(cache)\(what), "
                + "and offline mode is on (HF_HUB_OFFLINE), so it cannot be downloaded. To get it: run once with "
                + "network access (unset HF_HUB_OFFLINE), or download it with `hf download \(repo)"
                + (revision == "main" ? "" : " --revision \(revision)")
                + "`, or point at a local directory with `--model /path/to/dir`."
        case .networkUnavailable(let repo, let url, let reason, let cache):
            return "Could not reach the Hugging Face Hub at \(url) (\(reason)) to download '\(repo)', and it is not "
                + "complete in the cache at \(cache). Check the connection (or HF_ENDPOINT), download it elsewhere "
                + "with `hf download \(repo)`, or point at a local directory with `--model /path/to/dir`."
        case .accessDenied(let repo, let url, let status, let tokenSent, let gated):
            var text = "Access to '\(repo)' was refused (HTTP \(status) for \(url)). "
            if !tokenSent {
                text += "The repo is gated or private (or does not exist): set HF_TOKEN to an access token of an "
                    + "account that may read it (https://huggingface.co/settings/tokens), or log in with "
                    + "`hf auth login`."
            } else if gated {
                text += "The repo is gated: accept its conditions on https://huggingface.co/\(repo) with the account "
                    + "of the token in HF_TOKEN, then retry."
            } else {
                text += "The repo is gated or private and the token in HF_TOKEN (or the token file) was rejected or "
                    + "has no access to it: check the token, and for a gated repo accept its conditions on "
                    + "https://huggingface.co/\(repo)."
            }
            return text
        case .repoNotFound(let repo, let url):
            return "Repository '\(repo)' was not found on the Hub (HTTP 404 for \(url)). Check the repo id; "
                + "for a private repo set HF_TOKEN."
        case .revisionNotFound(let repo, let revision, let url):
            return "Revision '\(revision)' of '\(repo)' was not found on the Hub (HTTP 404 for \(url))."
        case .fileNotFound(let repo, let revision, let file):
            return "File '\(file)' was not found in '\(repo)' at revision '\(revision)'."
        case .unsupportedRepository(let repo, let reason):
            return "'\(repo)' cannot be used: \(reason)."
        case .httpStatus(let url, let status, let message):
            return "HTTP \(status) for \(url)" + (message.isEmpty ? "." : ": \(message)")
        case .invalidResponse(let url, let reason):
            return "Unexpected response from \(url): \(reason). If HF_ENDPOINT is set, check that it points to a "
                + "Hugging Face Hub compatible server."
        case .sizeMismatch(let file, let expected, let received):
            return "Download of '\(file)' ended at \(received) bytes, but the server announced \(expected) bytes."
        case .fileSystem(let path, let reason):
            return "Cannot use '\(path)': \(reason)."
        }
    }
}

extension HubError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
