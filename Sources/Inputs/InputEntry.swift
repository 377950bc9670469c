import Foundation

/// One input of a run: an image file or an image URL, as found by `InputWalker`.
public struct InputEntry: Sendable, Equatable, Hashable {
    /// Where the bytes are.
    public enum Location: Sendable, Equatable, Hashable {
        /// A local file (a file URL; relative paths resolve against the working directory).
        case file(URL)
        /// An `http` or `https` URL.
        case remote(URL)
    }

    /// The input as output and error messages show it: a file argument as given, a walked file as its argument
    /// joined with the path below it ("photos/a/b.jpg" for "a/b.jpg" under "photos"), or the URL as given.
    public var name: String
    public var location: Location
    /// The key `Shard` hashes: the path relative to the argument the file was found under ("a/b.jpg"); for a file
    /// argument its file name; for a URL the URL string.
    public var shardKey: String
    /// Named on the command line or in `--files-from`: a file that is no image is then an error. Files found while
    /// walking a directory are recognised by content, and the others are skipped.
    public var explicit: Bool

    public init(name: String, location: Location, shardKey: String, explicit: Bool) {
        self.name = name
        self.location = location
        self.shardKey = shardKey
        self.explicit = explicit
    }
}

/// What a walk found: the inputs in order, how many non-image files it skipped, and what it could not walk.
public struct InputWalk: Sendable {
    /// The inputs, in argument order; each directory's files sorted by the UTF-8 bytes of their names (Python's
    /// `sorted(os.listdir(...))`), depth first.
    public var entries: [InputEntry] = []
    /// Files found while walking (and in this run's shard) whose content is not an image.
    public var skippedNonImages = 0
    /// Arguments and folders that could not be walked, each naming its path; the rest of the walk went on.
    public var problems: [InputProblem] = []

    public init(entries: [InputEntry] = [], skippedNonImages: Int = 0, problems: [InputProblem] = []) {
        self.entries = entries
        self.skippedNonImages = skippedNonImages
        self.problems = problems
    }
}

/// Something a walk could not go through. Every message names the path (as the user would write it).
public enum InputProblem: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// An argument that is neither a file, a directory nor an http(s) URL (`reason` in the system's words).
    case missingArgument(String, reason: String)
    /// A folder that could not be listed ("Permission denied").
    case unreadableDirectory(String, reason: String)
    /// A file or folder below an argument that could not be examined: a broken symbolic link, a file that cannot
    /// be opened to see what it holds.
    case unreadableEntry(String, reason: String)
    /// A symbolic link to a folder that is already being walked (`ancestor`): following it would never end.
    case symlinkLoop(String, ancestor: String)
    /// A name in a folder that is not valid UTF-8 (it cannot be shown or stored as text).
    case invalidName(directory: String, bytes: [UInt8])
    /// An argument that starts with http:// or https:// but is no valid URL.
    case invalidURL(String)

    /// The path or URL the problem concerns.
    public var path: String {
        switch self {
        case .missingArgument(let p, _), .unreadableDirectory(let p, _), .unreadableEntry(let p, _),
             .symlinkLoop(let p, _), .invalidURL(let p):
            return p
        case .invalidName(let directory, _):
            return directory
        }
    }

    public var description: String {
        switch self {
        case .missingArgument(let path, let reason):
            // "ftp://host/a.jpg", "s3://bucket/a.jpg": a URL of another scheme is looked for as a file; say why.
            let scheme = path.range(of: "^[A-Za-z][A-Za-z0-9+.-]*://", options: .regularExpression) != nil
            return "\(path): cannot read the file (\(reason))"
                + (scheme ? "; only http:// and https:// URLs are downloaded" : "")
        case .unreadableDirectory(let path, let reason):
            return "\(path): cannot read the folder (\(reason)); its images are left out"
        case .unreadableEntry(let path, let reason):
            return "\(path): cannot read (\(reason))"
        case .symlinkLoop(let path, let ancestor):
            return "\(path): symbolic link loop (it leads back to \(ancestor), which is being walked); not followed"
        case .invalidName(let directory, let bytes):
            let shown = String(decoding: bytes, as: UTF8.self)
            return "\(directory): a name that is not valid UTF-8 (\(shown)); left out"
        case .invalidURL(let text):
            return "\(text): not a valid URL"
        }
    }

    public var errorDescription: String? { description }
}
