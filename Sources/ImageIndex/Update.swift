import Foundation
import GRDB
import Inputs
import Video
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
        /// Which frames of a video are indexed (`--every`, `--scenes`, `--max-gap`, `--max-frames`).
        public var sampling: VideoSampling

        public init(exclude: [String] = [], shard: Shard? = nil, keepMissing: Bool = false, batchSize: Int = 1,
                    maxDownloadBytes: Int = 50_000_000, sampling: VideoSampling = VideoSampling()) {
            self.exclude = exclude
            self.shard = shard
            self.keepMissing = keepMissing
            self.batchSize = max(1, batchSize)
            self.maxDownloadBytes = maxDownloadBytes
            self.sampling = sampling
        }
    }

    /// What a run did, counting files (a video is one file, whatever its number of frames): `added` new files,
    /// `updated` changed files, `unchanged` files skipped (same path, size and modification time, and for a video
    /// the same sampling), `removed` files gone, `failed` inputs (unreadable, corrupt, changed while read, a video
    /// where decoding stopped, walk problems), `skipped` non-image files found while walking.
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
        /// Something about an input worth telling that did not fail it (a video's `VideoSummary.warnings`, sampling
        /// cut short by `--max-frames`); `message` names the input.
        case warning(input: String, message: String)
        /// `done` of `total` inputs are settled (unchanged, committed or failed).
        case progress(done: Int, total: Int)
    }

    /// Indexes the images and videos found under `arguments` (files, directories walked recursively, URLs) with
    /// `classifier`, incrementally:
    ///
    /// - a file whose path, size and modification time match its rows is unchanged and not read; a video also needs
    ///   its stored sampling key (`VideoSampling.key`) to equal `options.sampling`'s, else it is sampled again;
    /// - a new or changed image is read once (its size and mtime from the same descriptor), hashed (SHA-256),
    ///   decoded and embedded; a changed file with the same SHA-256 keeps its embedding (only size and mtime change);
    /// - a new or changed video is expanded into its sampled frames (`MediaItems`), each embedded as an image; when
    ///   the video is done, its file is hashed (streamed in chunks, never held in memory; a URL is downloaded
    ///   again for it) and its old rows are replaced by its frames in one transaction. A video whose sampling is
    ///   unchanged but whose size or time changed is hashed first: the same bytes only refresh size and mtime (a
    ///   URL, which has no mtime, is sampled and hashed; the same bytes with the same sampling are unchanged);
    /// - images are committed `options.batchSize` at a time, each in its own transaction, so an interrupted run loses at
    ///   most the batch in flight and the next run resumes;
    /// - a file that fails (unreadable, corrupt or truncated image, changed while read, a video that cannot be
    ///   opened or has no frame) is reported through `events` and keeps its old rows, if any; a video where decoding
    ///   stopped after some frames is reported (the error names the file and the time) and keeps those frames, stored
    ///   with the sampling key followed by `;partial`, so that the next run samples it again; the others go on;
    /// - unless `keepMissing`, rows under this run's arguments (a directory's files, a file or URL argument itself)
    ///   that this run did not see are removed, except those of other shards (`options.shard`) and those under a
    ///   folder the walk could not read.
    ///
    /// - Returns: the counts of the run (files).
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
        let samplingKey = options.sampling.key
        var done = 0
        var seen = Set<String>()
        var jobs: [Job] = []
        var touchedVideos: [Job] = []
        let storedPaths = walk.entries.map(Self.storedPath)
        let existingRows = try rows(storedPaths)
        for (position, (entry, (stored, existing))) in zip(walk.entries, zip(storedPaths, existingRows)).enumerated() {
            // The same file reached twice (overlapping arguments) is indexed once.
            guard seen.insert(stored).inserted else {
                done += 1
                continue
            }
            var status: (size: Int, mtime: Double)?
            if case .file(let url) = entry.location { status = InputLoader.fileStatus(url.path) }
            if let existing, let status, existing.size == status.size, existing.mtime == status.mtime,
               existing.sampling == nil || existing.sampling == samplingKey {
                summary.unchanged += 1
                done += 1
                if done % 256 == 0 || done == total { events(.progress(done: done, total: total)) }
                continue
            }
            let job = Job(entry: entry, stored: stored, existing: existing, status: status, position: position)
            if existing?.sampling == samplingKey, status != nil { touchedVideos.append(job) } else { jobs.append(job) }
        }

        // A video with the same sampling whose size or time changed: hashed first, so that a file only touched (same
        // bytes) keeps its frames without being decoded again.
        var refreshed: [PendingWrite] = []
        for job in touchedVideos {
            guard case .file(let url) = job.entry.location,
                  let hashed = try? SHA256.hexOfFile(url.path, name: job.entry.name), hashed.hex == job.existing?.sha256 else {
                jobs.append(job)
                continue
            }
            (job.size, job.mtime, job.sha256) = (hashed.size, hashed.mtime, hashed.hex)
            refreshed.append(.image(job, nil))
        }
        if !refreshed.isEmpty {
            try write(refreshed, model: Model(identity: identity, modelType: modelType, embeddingDimension: 0), summary: &summary)
            done += refreshed.count
            events(.progress(done: done, total: total))
        }
        jobs.sort { $0.position < $1.position }

        // Reading, hashing, decoding and sampling of the next batch overlap the image tower on the current one
        // (`embedImages`; videos are decoded on MediaItems' own thread ahead of it); the rows of each batch of
        // images, and the frames of each video, are committed together.
        let loader = InputLoader(maxDownloadBytes: options.maxDownloadBytes)
        let media = MediaItems(jobs.map(\.entry), loader: loader, sampling: options.sampling)
        let model = Model(identity: identity, modelType: modelType, embeddingDimension: 0)
        var pending: [PendingWrite] = []
        var failures: [(String, Error)] = []
        var failedFiles = 0
        var inBatch = 0
        func commit() throws {
            try write(pending, model: model, summary: &summary)
            summary.failed += failedFiles
            for (name, error) in failures { events(.failed(input: name, error: error)) }
            done += inBatch
            events(.progress(done: done, total: total))
            pending.removeAll(keepingCapacity: true)
            failures.removeAll()
            failedFiles = 0
            inBatch = 0
        }
        /// A video is done: its frames replace its rows (unless none was sampled or its file could not be hashed).
        func settle(_ job: Job, hashError: Error?) throws {
            guard !job.settled else { return }
            job.settled = true
            if let hashError { job.failures.append(hashError) }
            // The same bytes sampled the same way as its rows (a URL served again, a file touched): its frames stand;
            // only size and mtime are refreshed when they differ.
            if job.failures.isEmpty, let existing = job.existing, existing.sampling == samplingKey,
               existing.sha256 == job.sha256 {
                if existing.size == job.size && existing.mtime == job.mtime {
                    summary.unchanged += 1
                } else {
                    pending.append(.image(job, nil))
                }
                inBatch += 1
                try commit()
                job.frames.removeAll()
                return
            }
            if !job.frames.isEmpty && hashError == nil {
                let partial = !job.failures.isEmpty
                pending.append(.video(job, sampling: samplingKey + (partial ? ";partial" : ""), complete: !partial))
            }
            inBatch += 1
            // Counted once as failed (its frames, if any, are kept); every error is reported.
            if !job.failures.isEmpty { failedFiles += 1 }
            failures += job.failures.map { (job.entry.name, $0) }
            try commit()
            job.frames.removeAll()
        }
        try classifier.embedImages(media, batchSize: options.batchSize, load: { [classifier, jobs] item in
            let job = jobs[item.index]
            switch item {
            case .image(_, let entry, let bytes):
                let loaded = try bytes ?? loader.load(entry)
                job.size = loaded.size
                job.mtime = loaded.mtime
                job.sha256 = SHA256.hex(loaded.bytes)
                // The same content as the stored row: its embedding stands; only size and mtime are refreshed.
                if job.existing?.sha256 == job.sha256 && job.existing?.sampling == nil { throw SameContent() }
                let image = try classifier.decode(.encoded(loaded.bytes))
                job.width = image.width
                job.height = image.height
                return image
            case .frame(_, _, let frame):
                let image = try frame.rgbImage()
                job.lock.withLock {
                    job.width = image.width
                    job.height = image.height
                }
                return image
            case .failure(_, _, let error):
                throw error
            case .videoEnd(_, let entry, let summary):
                try job.hashVideo(entry, summary: summary)
                throw VideoDone()
            }
        }) { (item: MediaItem, result: Result<[Float], Error>) throws in
            let job = jobs[item.index]
            switch item {
            case .image:
                switch result {
                case .success(let embedding): pending.append(.image(job, embedding))
                case .failure(is SameContent):
                    // A URL (no mtime) that serves the same bytes again is unchanged; a file touched or rewritten
                    // with the same bytes gets its size and mtime refreshed.
                    if job.existing?.size == job.size && job.existing?.mtime == job.mtime {
                        summary.unchanged += 1
                    } else {
                        pending.append(.image(job, nil))
                    }
                case .failure(let error):
                    failures.append((job.entry.name, error))
                    failedFiles += 1
                }
                inBatch += 1
                if inBatch == options.batchSize { try commit() }
            case .frame(_, _, let frame):
                switch result {
                case .success(let embedding): job.frames.append((frame.time, embedding))
                case .failure(let error): job.failures.append(error)
                }
            case .failure:
                if case .failure(let error) = result { job.failures.append(error) }
            case .videoEnd(_, _, let videoSummary):
                for warning in videoSummary.warnings { events(.warning(input: job.entry.name, message: warning)) }
                if let time = videoSummary.stoppedAtMaxFrames {
                    events(.warning(input: job.entry.name, message: "\(job.entry.name): sampling stopped at --max-frames "
                        + "\(options.sampling.maxFrames ?? videoSummary.frames) after the frame at \(VideoTime.text(time)) s"))
                }
                var hashError: Error?
                if case .failure(let error) = result, !(error is VideoDone) { hashError = error }
                try settle(job, hashError: hashError)
            }
        }
        // A video whose end marker never came (its reader stopped): settled with what it gave.
        for job in jobs where !job.settled && (!job.frames.isEmpty || !job.failures.isEmpty) {
            var hashError: Error?
            if !job.frames.isEmpty {
                do { try job.hashVideo(job.entry, summary: VideoSummary()) } catch { hashError = error }
            }
            try settle(job, hashError: hashError)
        }
        if inBatch > 0 || !pending.isEmpty || !failures.isEmpty { try commit() }

        if !options.keepMissing {
            summary.removed = try removeMissing(arguments: arguments, seen: seen, shard: options.shard,
                                                problemPaths: walk.problems.map { Self.absolutePath($0.path) })
        }
        return summary
    }

    /// An input to (re-)index, its current rows, and what loading it found (set on the loading thread before its
    /// result reaches the calling thread). For a video, its frames so far and the errors met.
    final class Job: @unchecked Sendable {
        let entry: InputEntry
        let stored: String
        let existing: ExistingRow?
        /// Size and modification time when the walk saw it (a file).
        let status: (size: Int, mtime: Double)?
        let lock = NSLock()
        var size = 0
        var mtime: Double?
        var sha256 = ""
        var width = 0
        var height = 0
        var frames: [(time: Double, embedding: [Float])] = []
        var failures: [Error] = []
        var settled = false
        /// The entry's position in the walk.
        let position: Int

        init(entry: InputEntry, stored: String, existing: ExistingRow?, status: (size: Int, mtime: Double)?, position: Int) {
            self.entry = entry
            self.stored = stored
            self.existing = existing
            self.status = status
            self.position = position
        }

        /// Hashes a video: a file streamed in chunks (and found unchanged since the walk, else
        /// `InputError.changedWhileReading`: its frames may be of two versions), a URL from the download its frames
        /// were decoded from (`VideoSummary.download`).
        func hashVideo(_ entry: InputEntry, summary: VideoSummary) throws {
            switch entry.location {
            case .file(let url):
                let hashed = try SHA256.hexOfFile(url.path, name: entry.name)
                if let status, status.size != hashed.size || status.mtime != hashed.mtime {
                    throw InputError.changedWhileReading(entry.name)
                }
                lock.withLock { (size, mtime, sha256) = (hashed.size, hashed.mtime, hashed.hex) }
            case .remote:
                guard let download = summary.download else { throw InputError.unreadable(entry.name, reason: "not downloaded") }
                lock.withLock { (size, mtime, sha256) = (download.size, nil, download.sha256) }
            }
        }
    }

    /// A changed file whose bytes hash as its row's: nothing to embed.
    struct SameContent: Error {}

    /// The end of a video reached the calling thread (its file hashed).
    struct VideoDone: Error {}

    /// A write of `write`: an image's row (nil: refresh size and mtime of the path's rows), or a video's frames.
    enum PendingWrite {
        case image(Job, [Float]?)
        /// `sampling`: the value of the rows' sampling column; `complete`: false when decoding stopped part way.
        case video(Job, sampling: String, complete: Bool)
    }

    struct ExistingRow {
        var size: Int
        var mtime: Double?
        var sha256: String
        /// The video's sampling key; nil for a still image.
        var sampling: String?
    }

    /// The rows of `paths` (nil where there is none; a video's first row), looked up 4,096 to a read transaction:
    /// one transaction per path made a re-run over 100,000 unchanged files spend about a sixth of its time opening
    /// and closing them.
    func rows(_ paths: [String]) throws -> [ExistingRow?] {
        var result: [ExistingRow?] = []
        result.reserveCapacity(paths.count)
        for start in stride(from: 0, to: paths.count, by: 4096) {
            let chunk = paths[start..<min(paths.count, start + 4096)]
            result += try guarded {
                try queue.read { db in
                    let sampling = try Self.schema(db) >= 2 ? "sampling" : "NULL AS sampling"
                    let statement = try db.cachedStatement(sql: "SELECT size, mtime, sha256, \(sampling) FROM images WHERE path = ? LIMIT 1")
                    return try chunk.map { path in
                        try Row.fetchOne(statement, arguments: [path])
                            .map { ExistingRow(size: $0["size"], mtime: $0["mtime"], sha256: $0["sha256"], sampling: $0["sampling"]) }
                    }
                }
            }
        }
        return result
    }

    /// Writes one batch in one transaction: an image's embedding inserts or replaces its row (and the rows of a
    /// video that was at its path), nil refreshes size and mtime only (of every row of the path), a video's frames
    /// replace every row of its path. The index takes the model on its first row.
    private func write(_ writes: [PendingWrite], model: Model, summary: inout UpdateSummary) throws {
        guard !writes.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        var added = 0, updated = 0
        try guarded {
            try queue.write { db in
                let recorded = try Self.model(db, path: path)
                var bound = recorded != nil
                func check(_ embedding: [Float]) throws {
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
                }
                let upsert = """
                    INSERT INTO images (path, time, sampling, size, mtime, sha256, width, height, embedding, indexed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (path, ifnull(time, -1)) DO UPDATE SET sampling = excluded.sampling, size = excluded.size,
                        mtime = excluded.mtime, sha256 = excluded.sha256, width = excluded.width, height = excluded.height,
                        embedding = excluded.embedding, indexed_at = excluded.indexed_at
                    """
                for write in writes {
                    switch write {
                    case .image(let job, nil):
                        try db.execute(sql: "UPDATE images SET size = ?, mtime = ?, indexed_at = ? WHERE path = ?",
                                       arguments: [job.size, job.mtime, now, job.stored])
                        updated += 1
                    case .image(let job, let embedding?):
                        try check(embedding)
                        if job.existing?.sampling != nil {
                            try db.execute(sql: "DELETE FROM images WHERE path = ?", arguments: [job.stored])
                        }
                        try db.cachedStatement(sql: upsert).execute(arguments: [
                            job.stored, nil, nil, job.size, job.mtime, job.sha256, job.width, job.height, Self.blob(embedding), now,
                        ])
                        if job.existing == nil { added += 1 } else { updated += 1 }
                    case .video(let job, let sampling, let complete):
                        try db.execute(sql: "DELETE FROM images WHERE path = ?", arguments: [job.stored])
                        for (time, embedding) in job.frames {
                            try check(embedding)
                            try db.cachedStatement(sql: upsert).execute(arguments: [
                                job.stored, time, sampling, job.size, job.mtime, job.sha256, job.width, job.height,
                                Self.blob(embedding), now,
                            ])
                        }
                        // A video that stopped part way is counted as failed, not as added or updated.
                        if complete { if job.existing == nil { added += 1 } else { updated += 1 } }
                    }
                }
            }
        }
        summary.added += added
        summary.updated += updated
    }

    /// Removes the rows under `arguments` not in `seen` (every frame of a video gone), keeping other shards' rows
    /// and rows under `problemPaths` that still exist (an unreadable folder is not a deleted one).
    /// - Returns: the number of files (paths) removed.
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
                    let paths = try String.fetchAll(db, sql: "SELECT DISTINCT path FROM images WHERE path = ? OR (path >= ? AND path < ?)",
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
