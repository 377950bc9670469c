#if DEBUG
import Foundation
@testable import Evaluation
@testable import ImageIndex
import Inputs

extension FuzzTargets {
    static let index: [FuzzTarget] = [
        FuzzTarget("sqlite-index",
                   parses: "SQLite files opened as the photo index (read-only: model, listing, search; for writing: schema-1 migration)",
                   seeds: ["Tests/Fuzz/Seeds/sqlite-index/*"], dictionary: "sqlite-index.dict", maxLength: 131_072) { data in
            let folder = IndexFuzz.folder()
            let file = folder.appendingPathComponent("photos.db").path
            let copy = folder.appendingPathComponent("copy.db").path
            guard FileManager.default.createFile(atPath: file, contents: data),
                  FileManager.default.createFile(atPath: copy, contents: data) else { return }
            // What search, `--db` listing and the server read: a read-only open.
            if let index = try? ImageIndex(path: file, create: false, readOnly: true) {
                IndexFuzz.read(index)
            }
            // What `zeroshot index` does first with an existing file: open for writing (migrating schema 1), then read.
            if let index = try? ImageIndex(path: copy, create: false, readOnly: false) {
                IndexFuzz.read(index)
                if let model = try? index.model() { _ = try? index.bind(model) }
            }
        },
        FuzzTarget("dataset", parses: "eval dataset manifests (CSV and JSONL: path and label per record)",
                   seeds: ["Tests/Fixtures/eval/*.csv", "Tests/Fixtures/eval/*.jsonl"], dictionary: "dataset.dict",
                   maxLength: 16_384) { data in
            // The same bytes as a CSV and as a JSONL manifest, without and with --classnames (10 classes).
            let folder = FuzzScratch.folder("dataset", files: ["manifest.csv": data, "manifest.jsonl": data])
            for name in ["manifest.csv", "manifest.jsonl"] {
                for classCount in [nil, 10] {
                    let path = folder.appendingPathComponent(name).path
                    guard let dataset = try? EvalDataset.load(path, classCount: classCount) else { continue }
                    precondition(!dataset.items.isEmpty)
                    for item in dataset.items { precondition(dataset.classIDs.indices.contains(item.trueClass)) }
                    // --classnames fixes the classes of integer labels (string labels are their own classes).
                    if let classCount, dataset.integerLabels { precondition(dataset.classIDs.count == classCount) }
                    _ = dataset.manifestWarnings(file: path)
                    _ = dataset.warnings()
                }
            }
        },
        FuzzTarget("files-from", parses: "--files-from lists (one path, folder or URL a line)",
                   seeds: ["Tests/Fuzz/Seeds/files-from/*"], maxLength: 16_384) { data in
            let folder = FuzzScratch.folder("files-from", files: ["list.txt": data])
            let path = folder.appendingPathComponent("list.txt").path
            let listed = try? FilesFrom.readList(path)
            let read = try? FilesFrom.read(path)
            let lines = try? FilesFrom.lines(data, source: "list")
            // The three readings agree where they all read the list.
            if let listed, listed.problems.isEmpty, let read { precondition(listed.lines == read) }
            if let read, let lines { precondition(read == lines) }
        },
    ]
}

enum IndexFuzz {
    /// A fresh folder in memory (/dev/shm) where there is one: SQLite syncs every commit, which on a disk makes
    /// an execution take a tenth of a second.
    static func folder() -> URL {
        let shm = URL(fileURLWithPath: "/dev/shm/zeroshot-fuzz-\(getpid())/sqlite-index", isDirectory: true)
        try? FileManager.default.removeItem(at: shm)
        if (try? FileManager.default.createDirectory(at: shm, withIntermediateDirectories: true)) != nil { return shm }
        return FuzzScratch.folder("sqlite-index")
    }

    static func read(_ index: ImageIndex) {
        _ = try? index.count()
        _ = try? index.contents()
        if let records = try? index.records(), let model = try? index.model() {
            _ = records.count
            precondition(model.embeddingDimension > 0)
        }
        _ = try? index.forEachTimedEmbedding(chunk: 3, corrupt: { _ in }) { paths, times, embeddings in
            precondition(paths.count == times.count && paths.count == embeddings.count)
        }
        if let matrix = try? index.embeddingMatrix(corrupt: { _ in }) {
            precondition(matrix.values.count == matrix.count * matrix.dimension)
            guard matrix.dimension > 0 else { return }
            var query = [Float](repeating: 0, count: matrix.dimension)
            query[0] = 1
            for allFrames in [false, true] {
                if let hits = try? matrix.search(query, topK: 5, allFrames: allFrames) {
                    precondition(hits.count <= 5 && hits.count <= matrix.count)
                }
            }
            _ = try? index.search(query: query, topK: 3, corrupt: { _ in })
        }
    }
}
#endif
