import Foundation
@testable import Hub

/// The files of a CLIP checkpoint, as a family names them: the selection the golden cache layout
/// (Tests/Fixtures/hub/layout.json) was made with.
let clipLikeFiles = FileSelection(
    required: ["config.json", "preprocessor_config.json"],
    choices: [FileChoice("tokenizer", alternatives: [["tokenizer.json"], ["vocab.json", "merges.txt"]])],
    safetensorsWeights: true,
    optional: ["tokenizer_config.json", "special_tokens_map.json"])

/// The tokenizer layouts of the families (fast; CLIP's BPE; SentencePiece; WordPiece).
let tokenizerLayouts = FileChoice(
    "tokenizer", alternatives: [["tokenizer.json"], ["vocab.json", "merges.txt"], ["spiece.model"], ["vocab.txt"]])

/// A checkpoint of any family: one tokenizer layout among four.
let anyFamilyFiles = FileSelection(
    required: ["config.json", "preprocessor_config.json"], choices: [tokenizerLayouts], safetensorsWeights: true,
    optional: ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"])

/// Tokenization alone: a tokenizer layout, and config.json when there; no weights.
let tokenizerOnlyFiles = FileSelection(
    choices: [tokenizerLayouts], optional: ["config.json", "tokenizer_config.json", "special_tokens_map.json"])

extension FixtureRepo {
    /// A repo of the given files (name -> content); `lfs` names those served through the CDN redirect, as
    /// huggingface.co serves LFS files. Etags and the commit are random hex, unique per call.
    static func make(_ id: String, files: [String: String], lfs: Set<String> = []) -> FixtureRepo {
        func hex(_ count: Int) -> String {
            var s = ""
            while s.count < count { s += UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
            return String(s.prefix(count))
        }
        var out: [String: File] = [:]
        for (name, content) in files {
            let large = lfs.contains(name)
            out[name] = File(data: Data(content.utf8), etag: hex(large ? 64 : 40), pointerEtag: hex(40), lfs: large)
        }
        return FixtureRepo(id: id, sha: hex(40), files: out, download: [])
    }
}

/// The names of the entries of a snapshot directory (followed symlinks included, dangling ones too), sorted.
func snapshotFiles(_ snapshot: URL) throws -> [String] {
    var out: [String] = []
    func walk(_ dir: URL, _ prefix: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let url = dir.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                try walk(url, prefix + name + "/")
            } else {
                out.append(prefix + name)
            }
        }
    }
    try walk(snapshot, "")
    return out.sorted()
}
