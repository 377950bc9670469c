import FileReading
import Foundation

/// The files a caller needs from a model repo, and how to tell whether a directory has them. The Hub layer knows
/// no model: the caller (a model family, a command that only tokenizes) says which files make a usable snapshot.
///
/// A selection is satisfied by a directory (a snapshot) when it holds
/// - every file of `required`;
/// - for each of `choices`, every file of at least one of its alternatives;
/// - when `safetensorsWeights` is set, `model.safetensors`, or `model.safetensors.index.json` and every shard its
///   `weight_map` names (the format's rule, as transformers' `from_pretrained` reads safetensors weights).
///
/// `optional` files never make a directory incomplete; a download fetches those the repo has.
/// File names are paths inside the repo (`/`-separated), compared exactly.
public struct FileSelection: Sendable, Equatable {
    /// Files that must all be there.
    public var required: [String]
    /// Named sets of alternatives, of which one must be there completely (a tokenizer: `tokenizer.json`, or
    /// `vocab.json` and `merges.txt`, ...). A download fetches the first alternative the repo has completely.
    public var choices: [FileChoice]
    /// Whether safetensors weights are needed: `model.safetensors`, or `model.safetensors.index.json` and every
    /// shard it names.
    public var safetensorsWeights: Bool
    /// Files fetched when the repo has them; their absence is no error.
    public var optional: [String]

    public init(required: [String] = [], choices: [FileChoice] = [], safetensorsWeights: Bool = false,
                optional: [String] = []) {
        self.required = required
        self.choices = choices
        self.safetensorsWeights = safetensorsWeights
        self.optional = optional
    }

    /// Single-file safetensors weights.
    public static let safetensorsFile = "model.safetensors"
    /// The index of sharded safetensors weights (`weight_map`: tensor name -> shard file name).
    public static let safetensorsIndex = "model.safetensors.index.json"

    /// What `directory` lacks to satisfy the selection, in the order required files, weights, choices (symlinks
    /// are followed; a dangling one counts as absent): a required file's name; `model.safetensors` when neither it
    /// nor the index is there, each missing shard when the index is, the index itself when it cannot be read as one;
    /// for a choice with no complete alternative, its `description` (`tokenizer (one of: tokenizer.json;
    /// vocab.json + merges.txt)`). Empty means the selection is satisfied.
    public func missingFiles(in directory: URL) -> [String] {
        func has(_ file: String) -> Bool {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path)
        }
        var missing = required.filter { !has($0) }
        if safetensorsWeights && !has(Self.safetensorsFile) {
            if has(Self.safetensorsIndex) {
                if let shards = try? Self.shardNames(indexFile: directory.appendingPathComponent(Self.safetensorsIndex)) {
                    missing += shards.filter { !has($0) }
                } else {
                    missing.append(Self.safetensorsIndex)
                }
            } else {
                missing.append(Self.safetensorsFile)
            }
        }
        for choice in choices where choice.firstComplete(has) == nil {
            missing.append(choice.description)
        }
        return missing
    }

    /// The distinct shard file names of a `model.safetensors.index.json` (`weight_map` values), sorted.
    /// - Throws: `HubError.fileSystem` when the file cannot be read, `HubError.invalidResponse` when it is not such
    ///   an index or names a path outside the repo.
    public static func shardNames(indexFile: URL) throws -> [String] {
        let data: Data
        do { data = try FileContents.read(indexFile, maxBytes: FileContents.maxConfigBytes) } catch {
            throw HubError.fileSystem(path: indexFile.path, reason: "cannot read: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let map = object["weight_map"] as? [String: Any], !map.isEmpty
        else {
            throw HubError.invalidResponse(url: indexFile.path, reason: "not a safetensors index (no weight_map object)")
        }
        var shards = Set<String>()
        for (tensor, value) in map {
            guard let name = value as? String, RepoReference.isSafeRelativePath(name) else {
                throw HubError.invalidResponse(
                    url: indexFile.path, reason: "weight_map entry '\(tensor)' does not name a file inside the repo")
            }
            shards.insert(name)
        }
        return shards.sorted()
    }
}

/// A named set of alternative file sets, one of which must be there completely, e.g. the tokenizer:
/// `FileChoice("tokenizer", alternatives: [["tokenizer.json"], ["vocab.json", "merges.txt"], ["spiece.model"]])`.
public struct FileChoice: Sendable, Equatable, CustomStringConvertible {
    /// What the files are, for messages (`tokenizer`).
    public var name: String
    /// The file sets, in order of preference: a download fetches the first one the repo has completely.
    public var alternatives: [[String]]

    public init(_ name: String, alternatives: [[String]]) {
        self.name = name
        self.alternatives = alternatives
    }

    /// `tokenizer (one of: tokenizer.json; vocab.json + merges.txt; spiece.model)`.
    public var description: String {
        "\(name) (one of: \(alternatives.map { $0.joined(separator: " + ") }.joined(separator: "; ")))"
    }

    /// The first alternative whose files `has` all accepts.
    func firstComplete(_ has: (String) -> Bool) -> [String]? {
        alternatives.first { $0.allSatisfy(has) }
    }

    /// The alternatives `has` accepts in part: `vocab.json without merges.txt`, for messages.
    func partialAlternatives(_ has: (String) -> Bool) -> [String] {
        alternatives.compactMap { files in
            let present = files.filter(has)
            guard !present.isEmpty, present.count < files.count else { return nil }
            return present.joined(separator: " + ") + " without " + files.filter { !has($0) }.joined(separator: " + ")
        }
    }
}
