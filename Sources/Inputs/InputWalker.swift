import Foundation
import Hub
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns command-line arguments (files, directories, http(s) URLs) into the ordered list of inputs of a run.
///
/// - A URL argument (`http://`, `https://`) is one input.
/// - A file argument is one input, whatever it holds (`explicit`: a non-image is an error when it is loaded).
/// - A directory argument is walked recursively, depth first, each folder's names sorted by their UTF-8 bytes
///   (Python's `sorted(os.listdir(...))`). Hidden names (starting with ".", which covers AppleDouble "._x" files)
///   are skipped, files and folders alike. Symbolic links are followed, but a link to a folder already on the way
///   down (same device and inode) is reported as a loop and not entered. Files are recognised by their first bytes
///   (`ContentKind`: images, unsupported image formats, video containers); other files are counted in
///   `skippedNonImages` and left out.
/// - `exclude` globs (`fnmatch(3)` without flags, as Python's `fnmatch`): a glob without "/" is matched against each
///   file and folder name below an argument, a glob with "/" against the path relative to the argument
///   ("raw/*.jpg"); a matching folder is not entered. Arguments themselves are never excluded (named on purpose).
/// - With a `shard`, only the inputs whose `shardKey` is in it are kept (tested before a file is opened).
///
/// Arguments that do not exist, folders that cannot be listed and loops are `problems`; the walk goes on.
public struct InputWalker: Sendable {
    public var exclude: [String]
    public var shard: Shard?

    public init(exclude: [String] = [], shard: Shard? = nil) {
        self.exclude = exclude
        self.shard = shard
    }

    /// The inputs of `arguments`, in order (see the type's rules).
    public func entries(_ arguments: [String]) -> InputWalk {
        var walk = InputWalk()
        for argument in arguments {
            if RemoteFile.isRemote(argument) {
                guard let url = URL(string: argument), url.host != nil else {
                    walk.problems.append(.invalidURL(argument))
                    continue
                }
                add(InputEntry(name: argument, location: .remote(url), shardKey: argument, explicit: true), to: &walk)
                continue
            }
            var st = stat()
            guard stat(argument, &st) == 0 else {
                let reason = String(cString: strerror(errno))
                walk.problems.append(.missingArgument(argument, reason: reason))
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let prefix = argument.hasSuffix("/") ? argument : argument + "/"
                walkDirectory(path: argument, shown: argument, prefix: prefix, relative: "",
                              chain: [(st.st_dev, st.st_ino, argument)], into: &walk)
            } else {
                let fileName = (argument as NSString).lastPathComponent
                add(InputEntry(name: argument, location: .file(URL(fileURLWithPath: argument).absoluteURL), shardKey: fileName,
                               explicit: true), to: &walk)
            }
        }
        return walk
    }

    private func add(_ entry: InputEntry, to walk: inout InputWalk) {
        if let shard, !shard.contains(key: entry.shardKey) { return }
        walk.entries.append(entry)
    }

    /// Whether a name below an argument (`relative` its path from the argument) is excluded.
    func isExcluded(name: String, relative: String) -> Bool {
        exclude.contains { glob in
            glob.contains("/") ? fnmatch(glob, relative, 0) == 0 : fnmatch(glob, name, 0) == 0
        }
    }

    /// Walks the folder at `path` (shown as `shown`, its entries as `prefix` + name), `relative` its path below the
    /// argument; `chain` holds the folders on the way down (device, inode, shown name).
    private func walkDirectory(path: String, shown folder: String, prefix: String, relative: String,
                               chain: [(dev_t, ino_t, String)], into walk: inout InputWalk) {
        guard let names = Self.listDirectory(path, shown: folder, into: &walk) else { return }
        let directoryPath = path.hasSuffix("/") ? path : path + "/"
        for name in names {
            guard !name.hasPrefix(".") else { continue }
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            guard !isExcluded(name: name, relative: childRelative) else { continue }
            let childPath = directoryPath + name
            let shown = prefix + name
            var st = stat()
            guard stat(childPath, &st) == 0 else {
                let code = errno
                var link = stat()
                let reason = code == ENOENT && lstat(childPath, &link) == 0 && (link.st_mode & S_IFMT) == S_IFLNK
                    ? "broken symbolic link" : String(cString: strerror(code))
                walk.problems.append(.unreadableEntry(shown, reason: reason))
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if let ancestor = chain.first(where: { $0.0 == st.st_dev && $0.1 == st.st_ino }) {
                    walk.problems.append(.symlinkLoop(shown, ancestor: ancestor.2))
                    continue
                }
                walkDirectory(path: childPath, shown: shown, prefix: shown + "/", relative: childRelative,
                              chain: chain + [(st.st_dev, st.st_ino, shown)], into: &walk)
            case S_IFREG:
                if let shard, !shard.contains(key: childRelative) { continue }
                switch sniff(childPath) {
                case .success(let kind) where kind.isInput:
                    walk.entries.append(InputEntry(name: shown, location: .file(URL(fileURLWithPath: shown).absoluteURL),
                                                   shardKey: childRelative, explicit: false))
                case .success:
                    walk.skippedNonImages += 1
                case .failure(let reason):
                    walk.problems.append(.unreadableEntry(shown, reason: reason.message))
                }
            default:
                // FIFOs, sockets, devices: never images, and opening a FIFO could wait forever.
                if let shard, !shard.contains(key: childRelative) { continue }
                walk.skippedNonImages += 1
            }
        }
    }

    /// The names in a folder (without "." and ".."), sorted by their UTF-8 bytes (Python's `sorted()` order);
    /// nil when the folder cannot be read. What could not be read or named (a name that is not UTF-8, an error
    /// while reading) is added to `walk.problems`, naming the folder as `shown`.
    public static func listDirectory(_ path: String, shown: String, into walk: inout InputWalk) -> [String]? {
        guard let dir = opendir(path) else {
            walk.problems.append(.unreadableDirectory(shown, reason: String(cString: strerror(errno))))
            return nil
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 {
                    walk.problems.append(.unreadableDirectory(shown, reason: String(cString: strerror(errno))))
                }
                break
            }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                if bytes.first != 0x2E { walk.problems.append(.invalidName(directory: shown, bytes: bytes)) }
                continue
            }
            names.append(name)
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The content kind of the file at `path` from its first bytes, or why it cannot be opened.
    private func sniff(_ path: String) -> Result<ContentKind, ContentKind.ReadFailure> {
        ContentKind.ofFile(atPath: path)
    }
}
