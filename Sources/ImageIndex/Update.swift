import Foundation
import GRDB
import Inputs
import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

extension ImageIndex {
    /// How `update` walks and embeds.
    public struct UpdateOptions: Sendable {
        /// `--exclude` globs (see `InputWalker`).
        public var exclude: [String]
        /// Only this share of the inputs (`--shard K/N`); rows of other shards are neither added nor removed.
        public var shard: Shard?
        /// Keep rows of files that are gone (`--keep-missing`).
        public var keepMissing: Bool
        /// Images per image-tower call and per committed transaction. 1 (default): each image is embedded on its
        /// own, so its embedding never depends on which images shared its batch (oneDNN's result for a row changes
        /// with the batch), and shards, re-runs and merges give bit-identical rows. Larger: faster, and an image's
        /// embedding may differ in the last bits between runs.
        public var batchSize: Int
        /// The size cap of a URL download.
        public var maxDownloadBytes: Int

        public init(exclude: [String] = [], shard: Shard? = nil, keepMissing: Bool = false, batchSize: Int = 1,
                    maxDownloadBytes: Int = 50_000_000) {
            self.exclude = exclude
            self.shard = shard
            self.keepMissing = keepMissing
            self.batchSize = max(1, batchSize)
            self.maxDownloadBytes = maxDownloadBytes
        }
    }

    /// What a run did: `added` new rows, `updated` rows of changed files, `unchanged` files skipped (same path,
    /// size and modification time), `removed` rows of files gone, `failed` inputs (unreadable, corrupt, changed
    /// while read, walk problems), `skipped` non-image files found while walking.
    public struct UpdateSummary: Sendable, Equatable, Codable {
        public var added = 0
        public var updated = 0
        public var unchanged = 0
        public var removed = 0
        public var failed = 0
        public var skipped = 0

        public init() {}
    }

    /// What `update` reports while it runs.
    public enum UpdateEvent {
        /// The walk is done: `total` inputs to look at.
        case walked(total: Int)
        /// An input or a walk problem failed; the run goes on. `input` names it as given.
        case failed(input: String, error: Error)
        /// `done` of `total` inputs are settled (unchanged, committed or failed).
        case progress(done: Int, total: Int)
    }

    /// Indexes the images found under `arguments` (files, directories walked recursively, URLs) with `classifier`,
    /// incrementally:
    ///
    /// - a file whose path, size and modification time match its row is unchanged and not read;
    /// - a new or changed file is read once (its size and mtime from the same descriptor), hashed (SHA-256),
    ///   decoded and embedded; a changed file with the same SHA-256 keeps its embedding (only size and mtime change);
    /// - each batch (`options.batchSize` images) is committed in its own transaction, so an interrupted run loses at
    ///   most the batch in flight and the next run resumes;
    /// - a file that fails (unreadable, corrupt or truncated image, changed while read) is reported through
    ///   `events` and keeps its old row, if any; the others go on;
    /// - unless `keepMissing`, rows under this run's arguments (a directory's files, a file or URL argument itself)
    ///   that this run did not see are removed, except those of other shards (`options.shard`) and those under a
    ///   folder the walk could not read.
    ///
    /// - Returns: the counts of the run.
    /// - Throws: `ImageIndexError.modelMismatch` (the index was made with another model), `.diskFull` (the run
    ///   stops; committed batches are kept), `.database`; `ModelIdentityError`.
    public func update(_ arguments: [String], classifier: ZeroShotClassifier, options: UpdateOptions = UpdateOptions(),
                       events: (UpdateEvent) -> Void = { _ in }) throws -> UpdateSummary {
        let identity = try classifier.identity
        let modelType = type(of: classifier.model).modelType
        if let existing = try model(), existing.identity.fingerprint != identity.fingerprint {
            throw ImageIndexError.modelMismatch(path: path, index: existing.identity, given: identity)
        }
        var summary = UpdateSummary()
        let walk = InputWalker(exclude: options.exclude, shard: options.shard).entries(arguments)
        summary.skipped = walk.skippedNonImages
        for problem in walk.problems {
            summary.failed += 1
            events(.failed(input: problem.path, error: problem))
        }
        let total = walk.entries.count
        events(.walked(total: total))
        var done = 0
        var seen = Set<String>()
        var jobs: [Job] = []
        let storedPaths = walk.entries.map(Self.storedPath)
        let existingRows = try rows(storedPaths)
        for (entry, (stored, existing)) in zip(walk.entries, zip(storedPaths, existingRows)) {
            // The same file reached twice (overlapping arguments) is indexed once.
            guard seen.insert(stored).inserted else {
                done += 1
                continue
            }
            if case .file(let url) = entry.location, let existing, let st = InputLoader.fileStatus(url.path),
               existing.size == st.size, existing.mtime == st.mtime {
                summary.unchanged += 1
                done += 1
                if done % 256 == 0 || done == total { events(.progress(done: done, total: total)) }
                continue
            }
            jobs.append(Job(entry: entry, stored: stored, existing: existing))
        }

        // Reading, hashing and decoding of the next batch overlap the image tower on the current one
        // (`embedImages`); the rows of each batch are committed together.
        let loader = InputLoader(maxDownloadBytes: options.maxDownloadBytes)
        let model = Model(identity: identity, modelType: modelType, embeddingDimension: 0)
        var rows: [(Job, [Float]?)] = []
        var failures: [(String, Error)] = []
        var inBatch = 0
        func commitBatch() throws {
            try write(rows, model: model, summary: &summary)
            summary.failed += failures.count
            for (name, error) in failures { events(.failed(input: name, error: error)) }
            done += inBatch
            events(.progress(done: done, total: total))
            rows.removeAll(keepingCapacity: true)
            failures.removeAll()
            inBatch = 0
        }
        try classifier.embedImages(jobs, batchSize: options.batchSize, load: { [classifier] job in
            let loaded = try loader.load(job.entry)
            job.size = loaded.size
            job.mtime = loaded.mtime
            job.sha256 = SHA256.hex(loaded.bytes)
            // The same content as the stored row: its embedding stands; only size and mtime are refreshed.
            if job.existing?.sha256 == job.sha256 { throw SameContent() }
            let image = try classifier.decode(.encoded(loaded.bytes))
            job.width = image.width
            job.height = image.height
            return image
        }) { (job: Job, result: Result<[Float], Error>) throws in
            switch result {
            case .success(let embedding): rows.append((job, embedding))
            case .failure(is SameContent):
                // A URL (no mtime) that serves the same bytes again is unchanged; a file touched or rewritten with
                // the same bytes gets its size and mtime refreshed.
                if job.existing?.size == job.size && job.existing?.mtime == job.mtime {
                    summary.unchanged += 1
                } else {
                    rows.append((job, nil))
                }
            case .failure(let error): failures.append((job.entry.name, error))
            }
            inBatch += 1
            if inBatch == options.batchSize { try commitBatch() }
        }
        if inBatch > 0 { try commitBatch() }

        if !options.keepMissing {
            summary.removed = try removeMissing(arguments: arguments, seen: seen, shard: options.shard,
                                                problemPaths: walk.problems.map { Self.absolutePath($0.path) })
        }
        return summary
    }

    /// An input to (re-)index, its current row, and what loading it found (set on the loading thread before its
    /// result reaches the calling thread).
    final class Job: @unchecked Sendable {
        let entry: InputEntry
        let stored: String
        let existing: ExistingRow?
        var size = 0
        var mtime: Double?
        var sha256 = ""
        var width = 0
        var height = 0

        init(entry: InputEntry, stored: String, existing: ExistingRow?) {
            self.entry = entry
            self.stored = stored
            self.existing = existing
        }
    }

    /// A changed file whose bytes hash as its row's: nothing to embed.
    struct SameContent: Error {}

    struct ExistingRow {
        var size: Int
        var mtime: Double?
        var sha256: String
    }

    /// The rows of `paths` (nil where there is none), looked up 4,096 to a read transaction: one transaction per
    /// path made a re-run over 100,000 unchanged files spend about a sixth of its time opening and closing them.
    func rows(_ paths: [String]) throws -> [ExistingRow?] {
        var result: [ExistingRow?] = []
        result.reserveCapacity(paths.count)
        for start in stride(from: 0, to: paths.count, by: 4096) {
            let chunk = paths[start..<min(paths.count, start + 4096)]
            result += try guarded {
                try queue.read { db in
                    let statement = try db.cachedStatement(sql: "SELECT size, mtime, sha256 FROM images WHERE path = ?")
                    return try chunk.map { path in
                        try Row.fetchOne(statement, arguments: [path])
                            .map { ExistingRow(size: $0["size"], mtime: $0["mtime"], sha256: $0["sha256"]) }
                    }
                }
            }
        }
        return result
    }

    /// Writes the rows of one batch in one transaction: an embedding inserts or replaces the row, nil refreshes
    /// size and mtime only. The index takes the model on its first row.
    private func write(_ rows: [(Job, [Float]?)], model: Model, summary: inout UpdateSummary) throws {
        guard !rows.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        var added = 0, updated = 0
        try guarded {
            try queue.write { db in
                let recorded = try Self.model(db)
                var bound = recorded != nil
                for (job, embedding) in rows {
                    guard let embedding else {
                        try db.execute(sql: "UPDATE images SET size = ?, mtime = ?, indexed_at = ? WHERE path = ?",
                                       arguments: [job.size, job.mtime, now, job.stored])
                        updated += 1
                        continue
                    }
                    // An index whose meta says another embedding_dim (edited by another tool) would get rows that
                    // no search can read.
                    if let recorded, recorded.embeddingDimension != embedding.count {
                        throw ImageIndexError.database(path: path, reason: "the index records embedding_dim "
                            + "\(recorded.embeddingDimension) but its model gives \(embedding.count) values; the index is "
                            + "damaged (rebuild it into a new --db)")
                    }
                    if !bound {
                        var first = model
                        first.embeddingDimension = embedding.count
                        try Self.setModel(db, first)
                        bound = true
                    }
                    try db.cachedStatement(sql: """
                        INSERT INTO images (path, size, mtime, sha256, width, height, embedding, indexed_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                            sha256 = excluded.sha256, width = excluded.width, height = excluded.height,
                            embedding = excluded.embedding, indexed_at = excluded.indexed_at
                        """).execute(arguments: [job.stored, job.size, job.mtime, job.sha256, job.width, job.height,
                                                 Self.blob(embedding), now])
                    if job.existing == nil { added += 1 } else { updated += 1 }
                }
            }
        }
        summary.added += added
        summary.updated += updated
    }

    /// Removes the rows under `arguments` not in `seen`, keeping other shards' rows and rows under `problemPaths`
    /// that still exist (an unreadable folder is not a deleted one).
    private func removeMissing(arguments: [String], seen: Set<String>, shard: Shard?, problemPaths: [String]) throws -> Int {
        let kept = problemPaths.filter { access($0, F_OK) == 0 }
        var gone: [String] = []
        try guarded {
            try queue.read { db in
                for argument in arguments {
                    if RemoteFile.isRemote(argument) {
                        if !seen.contains(argument), try Bool.fetchOne(db, sql: "SELECT 1 FROM images WHERE path = ?", arguments: [argument]) == true {
                            if shard?.contains(key: argument) ?? true { gone.append(argument) }
                        }
                        continue
                    }
                    let root = Self.absolutePath(argument)
                    let prefix = root == "/" ? "/" : root + "/"
                    // Rows equal to the argument, or in the range of paths that start with "root/" ("/" + 1 is "0").
                    let upper = String(prefix.dropLast()) + "0"
                    let paths = try String.fetchAll(db, sql: "SELECT path FROM images WHERE path = ? OR (path >= ? AND path < ?)",
                                                    arguments: [root, prefix, upper])
                    for path in paths where !seen.contains(path) {
                        let key = path == root ? (root as NSString).lastPathComponent : String(path.dropFirst(prefix.count))
                        if let shard, !shard.contains(key: key) { continue }
                        if kept.contains(where: { path == $0 || path.hasPrefix($0 == "/" ? "/" : $0 + "/") }) { continue }
                        gone.append(path)
                    }
                }
            }
        }
        let unique = Array(Set(gone)).sorted()
        guard !unique.isEmpty else { return 0 }
        try guarded {
            try queue.write { db in
                for path in unique { try db.execute(sql: "DELETE FROM images WHERE path = ?", arguments: [path]) }
            }
        }
        return unique.count
    }

    // MARK: - Paths

    /// The `path` column of an input: the URL string, or the file's absolute path made as Python's
    /// `os.path.abspath` makes it (relative to the working directory, `.`, `..` and repeated slashes resolved
    /// lexically; symbolic links are not resolved).
    public static func storedPath(_ entry: InputEntry) -> String {
        switch entry.location {
        case .remote(let url): return url.absoluteString
        case .file(let url): return absolutePath(url.path)
        }
    }

    /// Python's `os.path.abspath(path)`.
    public static func absolutePath(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in full.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
