import Foundation

/// A Hub model repo id with a revision, parsed from `org/name`, `name`, `org/name@revision`.
public struct RepoReference: Sendable, Equatable, CustomStringConvertible {
    /// `org/name` or `name`.
    public let repoID: String
    /// A branch or tag name (`main`, `refs/pr/1`) or a 40-hex-digit commit hash. Default `main`.
    public let revision: String

    /// The revision used when none is given, as huggingface_hub's `DEFAULT_REVISION`.
    public static let defaultRevision = "main"

    /// Parses and validates with huggingface_hub's rules for repo ids (`validate_repo_id`): one optional namespace,
    /// each part 1-96 ASCII letters, digits, `_`, `-`, `.`, starting and ending with a letter, digit or `_`;
    /// no `--` or `..`; not ending in `.git`. The revision must be a non-empty relative path without `.`/`..`
    /// components (it becomes `refs/<revision>` in the cache).
    /// - Throws: `HubError.invalidModelReference`.
    public init(parsing text: String) throws {
        var id = text
        var revision = RepoReference.defaultRevision
        if let at = text.firstIndex(of: "@") {
            id = String(text[..<at])
            revision = String(text[text.index(after: at)...])
            guard RepoReference.isSafeRelativePath(revision) else {
                throw HubError.invalidModelReference(text, reason: "invalid revision '\(revision)'")
            }
        }
        if let reason = RepoReference.repoIDProblem(id) {
            throw HubError.invalidModelReference(text, reason: reason)
        }
        self.repoID = id
        self.revision = revision
    }

    public init(repoID: String, revision: String = RepoReference.defaultRevision) throws {
        try self.init(parsing: repoID + "@" + revision)
    }

    public var description: String { revision == Self.defaultRevision ? repoID : "\(repoID)@\(revision)" }

    /// `models--org--name`, as huggingface_hub's `repo_folder_name(repo_type="model")`.
    public var cacheFolderName: String { (["models"] + repoID.split(separator: "/").map(String.init)).joined(separator: "--") }

    /// Whether the revision is a full commit hash (40 lowercase hex digits, huggingface_hub's `REGEX_COMMIT_HASH`).
    public var revisionIsCommitHash: Bool { RepoReference.isCommitHash(revision) }

    static func isCommitHash(_ s: String) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func repoIDProblem(_ id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "a repo id has the form 'name' or 'namespace/name'" }
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 96 else { return "each part must have 1 to 96 characters" }
            let allowed = part.utf8.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
            guard allowed, let first = part.utf8.first, let last = part.utf8.last, isWordByte(first), isWordByte(last)
            else {
                return "use letters, digits, '-', '_' or '.', not starting or ending with '-' or '.'"
            }
        }
        if id.contains("--") || id.contains("..") { return "'--' and '..' are not allowed" }
        if id.hasSuffix(".git") { return "a repo id cannot end in '.git'" }
        return nil
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == UInt8(ascii: "_")
    }

    /// A non-empty `/`-separated relative path whose components are neither empty, `.` nor `..`, without NUL or `\`.
    static func isSafeRelativePath(_ s: String) -> Bool {
        guard !s.isEmpty, !s.hasPrefix("/"), !s.contains("\0"), !s.contains("\\") else { return false }
        return s.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".."
        }
    }
}
