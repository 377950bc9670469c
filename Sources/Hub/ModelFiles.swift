import Foundation

/// The files a CLIP checkpoint in Hugging Face layout needs, and how to tell whether a directory has them.
public enum CLIPModelFiles {
    public static let config = "config.json"
    public static let weights = "model.safetensors"
    public static let weightsIndex = "model.safetensors.index.json"
    public static let tokenizer = "tokenizer.json"
    public static let vocabulary = "vocab.json"
    public static let merges = "merges.txt"
    public static let preprocessorConfig = "preprocessor_config.json"
    /// Downloaded when the repo has them; a snapshot without them still counts as complete.
    public static let optional = ["tokenizer_config.json", "special_tokens_map.json"]

    /// The required files absent from `directory` (symlinks are followed; a dangling one counts as absent):
    /// `config.json`; `model.safetensors`, or `model.safetensors.index.json` and every shard named in its
    /// `weight_map`; `tokenizer.json`, or `vocab.json` and `merges.txt`; `preprocessor_config.json`.
    /// Empty means the directory is a complete checkpoint.
    public static func missingFiles(in directory: URL) -> [String] {
        func has(_ file: String) -> Bool {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path)
        }
        var missing: [String] = []
        if !has(config) { missing.append(config) }
        if !has(weights) {
            if has(weightsIndex) {
                if let shards = try? shardNames(indexFile: directory.appendingPathComponent(weightsIndex)) {
                    missing += shards.filter { !has($0) }
                } else {
                    missing.append(weightsIndex)
                }
            } else {
                missing.append(weights)
            }
        }
        if !has(tokenizer) && !(has(vocabulary) && has(merges)) {
            missing.append(tokenizer)
        }
        if !has(preprocessorConfig) { missing.append(preprocessorConfig) }
        return missing
    }

    /// The distinct shard file names of a `model.safetensors.index.json` (`weight_map` values), sorted.
    /// - Throws: `HubError.invalidResponse` when the file is not such an index or names a path outside the repo.
    public static func shardNames(indexFile: URL) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: indexFile) } catch {
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
