import Foundation
import XCTest
@testable import Hub

/// A fresh temporary directory, removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hubtests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// An endpoint nothing listens on (port 9, discard): any network use fails fast.
let deadEndpoint = URL(string: "http://127.0.0.1:9")!

/// One entry of a cache tree, in the form Tools/reference/hub_cache_layout.py records.
struct TreeEntry: Hashable, CustomStringConvertible {
    var path: String
    var kind: String
    var target: String? = nil
    var size: Int? = nil
    var text: String? = nil

    var description: String {
        [path, kind, target.map { "-> \($0)" }, size.map { "\($0) B" }, text.map { "'\($0)'" }]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// Every path under `root` (kind, symlink target, file size, and the text of refs and CACHEDIR.TAG).
func cacheTree(_ root: URL) throws -> Set<TreeEntry> {
    var out = Set<TreeEntry>()
    func walk(_ dir: URL, _ prefix: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let url = dir.appendingPathComponent(name)
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink {
                out.insert(TreeEntry(path: rel, kind: "symlink", target: try FileManager.default.destinationOfSymbolicLink(atPath: url.path)))
            } else if type == .typeDirectory {
                out.insert(TreeEntry(path: rel, kind: "dir"))
                try walk(url, rel)
            } else {
                var entry = TreeEntry(path: rel, kind: "file", size: (attributes[.size] as? NSNumber)?.intValue)
                if ("/" + rel).contains("/refs/") || rel.hasSuffix("CACHEDIR.TAG") {
                    entry.text = try String(contentsOf: url, encoding: .utf8)
                }
                out.insert(entry)
            }
        }
    }
    try walk(root, "")
    return out
}

/// The golden tree huggingface_hub made for the fixture repos.
func goldenTree() throws -> Set<TreeEntry> {
    let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("hub/layout.json"))
    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    let entries = object?["entries"] as? [[String: Any]] ?? []
    return Set(entries.map {
        TreeEntry(
            path: $0["path"] as? String ?? "", kind: $0["kind"] as? String ?? "", target: $0["target"] as? String,
            size: $0["size"] as? Int, text: $0["text"] as? String)
    })
}

/// Runs `body` and returns the `HubError` it throws, failing the test if it throws nothing or something else.
func hubError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> HubError? {
    do {
        try body()
        XCTFail("expected a HubError", file: file, line: line)
    } catch let error as HubError {
        return error
    } catch {
        XCTFail("expected a HubError, got \(error)", file: file, line: line)
    }
    return nil
}
