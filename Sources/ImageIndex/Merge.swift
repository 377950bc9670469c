import Foundation
import GRDB
import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

extension ImageIndex {
    /// What a merge did, counting files (a video with all its frames is one): `added` paths new to the index,
    /// `replaced` paths already in it (the source's rows win: a video's old frames are all replaced by the
    /// source's), and the source's rows left out because their embedding is not `embedding_dim` float32 values
    /// (`corrupt`, each an `ImageIndexError.corruptEmbedding` naming the source and the image or frame).
    public struct MergeSummary: Sendable, Equatable {
        public var added = 0
        public var replaced = 0
        public var corrupt: [ImageIndexError] = []
        public init() {}
    }

    /// Copies every row of the index at `source` into this one, in one transaction, bytes unchanged (embeddings,
    /// times, hashes, sampling keys). A path in both keeps the source's rows only (for a video: its frames). An
    /// index without a model takes the source's; a source without rows adds nothing. A source of schema 1 is read
    /// as is (every row a still image).
    ///
    /// - Throws: `ImageIndexError.mergeIntoItself` when `source` is this index's file (by device and inode, so
    ///   through links too); `ImageIndexError.mergeModelMismatch` naming both files and both models when the fingerprints
    ///   differ; the errors of opening `source` (`notFound`, `notSQLite`, `otherProgram`, `newerSchema`);
    ///   `.diskFull`, `.database`.
    public func merge(from source: String) throws -> MergeSummary {
        // The same file under another name (a symbolic or hard link): attaching it would wait on its own lock.
        if Self.sameFile(source, path) { throw ImageIndexError.mergeIntoItself(path: path, source: source) }
        let other = try ImageIndex(path: source, create: false, readOnly: true)
        guard let sourceModel = try other.model() else { return MergeSummary() }
        if let model = try model(), model.identity.fingerprint != sourceModel.identity.fingerprint {
            throw ImageIndexError.mergeModelMismatch(path: path, model: model.identity, source: source,
                                                     sourceModel: sourceModel.identity)
        }
        var summary = MergeSummary()
        try guarded {
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
                defer { try? db.execute(sql: "DETACH DATABASE source") }
                try db.inTransaction {
                    if try Self.model(db, path: path) == nil { try Self.setModel(db, sourceModel) }
                    let v2 = try Self.schema(db, "source") >= 2
                    let time = v2 ? "time" : "NULL"
                    let sampling = v2 ? "sampling" : "NULL"
                    // Rows whose embedding has the wrong size are not copied; each is reported.
                    let bytes = sourceModel.embeddingDimension * 4
                    let valid = "length(CAST(embedding AS BLOB)) = \(bytes)"
                    for row in try Row.fetchAll(db, sql: """
                        SELECT path, \(time) AS time, length(CAST(embedding AS BLOB)) AS bytes FROM source.images
                        WHERE NOT (\(valid)) ORDER BY \(try Self.rowOrder(db, "source"))
                        """) {
                        summary.corrupt.append(.corruptEmbedding(path: source, image: Self.rowName(row["path"], row["time"]),
                                                                 bytes: row["bytes"] ?? 0, dimension: sourceModel.embeddingDimension))
                    }
                    let total = try Int.fetchOne(db, sql: "SELECT count(DISTINCT path) FROM source.images WHERE \(valid)") ?? 0
                    summary.replaced = try Int.fetchOne(db, sql: """
                        SELECT count(DISTINCT path) FROM source.images AS s WHERE \(valid)
                            AND EXISTS (SELECT 1 FROM main.images AS m WHERE m.path = s.path)
                        """) ?? 0
                    summary.added = total - summary.replaced
                    // A path in both: the source's rows replace all of the index's (a video sampled otherwise has
                    // other frame times).
                    try db.execute(sql: """
                        DELETE FROM main.images WHERE path IN (SELECT path FROM source.images WHERE \(valid))
                        """)
                    try db.execute(sql: """
                        INSERT INTO main.images (path, time, sampling, size, mtime, sha256, width, height, embedding, indexed_at)
                        SELECT path, \(time), \(sampling), size, mtime, sha256, width, height, embedding, indexed_at
                        FROM source.images WHERE \(valid) ORDER BY \(try Self.rowOrder(db, "source"))
                        ON CONFLICT (path, ifnull(time, -1)) DO UPDATE SET sampling = excluded.sampling, size = excluded.size,
                            mtime = excluded.mtime, sha256 = excluded.sha256, width = excluded.width, height = excluded.height,
                            embedding = excluded.embedding, indexed_at = excluded.indexed_at
                        """)
                    return .commit
                }
            }
        }
        return summary
    }
}

extension ImageIndex {
    /// Whether two paths name the same file: equal absolute paths, or the same device and inode (symbolic and hard
    /// links).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        if absolutePath(a) == absolutePath(b) { return true }
        var x = stat(), y = stat()
        guard stat(a, &x) == 0, stat(b, &y) == 0 else { return false }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}
