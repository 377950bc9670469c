import Foundation
import GRDB
import GRDBSQLite
import Video
import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

/// An SQLite file (through GRDB, WAL journal) that holds, for each still image and for each sampled frame of a
/// video, its path, time in the video, size, modification time, SHA-256, width and height (after EXIF orientation,
/// or the video's display size) and its L2-normalised image embedding, with the model that made them. Schema 2:
///
///     PRAGMA application_id = 0x5A534958 ("ZSIX"); PRAGMA user_version = 2; PRAGMA page_size = 16384;
///     meta(key TEXT PRIMARY KEY, value TEXT)   -- model_id, model_revision, model_fingerprint, model_type,
///                                              -- embedding_dim, created_at
///     images(id INTEGER PRIMARY KEY, path TEXT NOT NULL, time REAL, sampling TEXT, size INTEGER, mtime REAL,
///            sha256 TEXT, width INTEGER, height INTEGER, embedding BLOB, indexed_at REAL)
///     UNIQUE INDEX images_path_time ON images (path, ifnull(time, -1))
///
/// `path` is the absolute, standardized file path (the URL string for a URL); `time` NULL for a still image, else
/// the frame's presentation time in seconds from the start of the video (`VideoFrame.time`); `sampling` NULL for a
/// still image, else the `VideoSampling.key` the video was sampled with, followed by `;partial` when decoding
/// stopped early (so that the next run samples it again); `mtime` seconds since 1970 with nanoseconds (NULL for a
/// URL); `sha256` lowercase hex of the bytes (of the whole video file for a frame); `embedding` `embedding_dim`
/// float32 little-endian values; `indexed_at` seconds since 1970. The rows of one video share path, sampling, size,
/// mtime, sha256, width and height; (path, time) is unique, and a still image has one row per path.
///
/// Schema 1 (an index made before videos: `path TEXT NOT NULL UNIQUE`, no `time` or `sampling`) is migrated when
/// it is opened for writing (`readOnly` false): the table is rebuilt in one transaction, rows unchanged, as still
/// images. A read-only open of a schema-1 index reads it as is (every row a still image). If the file cannot be
/// written (permissions), it stays at schema 1 and is read as such; writing rows into it then fails.
///
/// One process writes an index at a time; readers can read while it writes (WAL).
public final class ImageIndex: @unchecked Sendable {
    /// `PRAGMA application_id` of every zeroshot index: "ZSIX" in ASCII.
    public static let applicationID: Int32 = 0x5A53_4958
    /// `PRAGMA user_version`: the schema this build writes (it also reads and migrates schema 1).
    public static let schemaVersion = 2
    /// `PRAGMA page_size` of a new index.
    public static let pageSize = 16384

    /// `PRAGMA mmap_size` of the whole-index reads (loading the embedding matrix, relabelling): SQLite then reads
    /// pages through a memory map instead of copying each one with pread (capped by SQLite at its
    /// SQLITE_MAX_MMAP_SIZE, 2 GB by default; the rest of a larger file is read as before). Writes never go through
    /// the map.
    static let readMapSize: Int64 = 1 << 40

    /// The database file as given.
    public let path: String
    let queue: DatabaseQueue

    /// The model recorded in an index.
    public struct Model: Sendable, Equatable {
        public var identity: ModelIdentity
        /// config.json's model_type (`clip`, `chinese_clip`, `siglip`).
        public var modelType: String
        public var embeddingDimension: Int
    }

    /// Opens an index, creating the file and its schema when `create` is true and the path does not exist (or is an
    /// empty file). `maxPageCount` caps the file at that many pages (SQLite's `PRAGMA max_page_count`; pages are
    /// `pageSize` bytes): a write past it fails as a full disk does (`ImageIndexError.diskFull`).
    ///
    /// - Throws: `ImageIndexError.notFound` (no file and `create` false), `.isDirectory`, `.notRegularFile`, `.notSQLite`, `.otherProgram`,
    ///   `.newerSchema`, `.database` for SQLite's own errors (unreadable file, locked), `.diskFull`.
    public init(path: String, create: Bool = true, readOnly: Bool = false, maxPageCount: Int? = nil) throws {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if !exists && !create { throw ImageIndexError.notFound(path: path) }
        if exists && (st.st_mode & S_IFMT) == S_IFDIR { throw ImageIndexError.isDirectory(path: path) }
        if exists && (st.st_mode & S_IFMT) != S_IFREG { throw ImageIndexError.notRegularFile(path: path) }
        if !exists {
            // SQLite says only "unable to open database file" for a path whose folder is missing.
            let folder = (path as NSString).deletingLastPathComponent
            var dir = stat()
            if !folder.isEmpty && (stat(folder, &dir) != 0 || (dir.st_mode & S_IFMT) != S_IFDIR) {
                throw ImageIndexError.database(path: path, reason: "cannot create the index: the folder \(folder) does not exist")
            }
        }
        if exists && st.st_size > 0 { try Self.checkHeader(path) }
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.label = "ImageIndex"
        if let maxPageCount {
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA max_page_count = \(maxPageCount)") }
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw Self.mapped(error, path: path)
        }
        try prepare(create: create && !readOnly)
        if !readOnly { try migrate() }
    }

    /// SQLite's header string; anything else is not an SQLite database.
    private static func checkHeader(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageIndexError.database(path: path, reason: "cannot be opened for reading: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        guard head == Data("SQLite format 3\0".utf8) else { throw ImageIndexError.notSQLite(path: path) }
    }

    /// Checks the application_id and schema version; creates the schema in an empty database.
    private func prepare(create: Bool) throws {
        // Two processes creating one new index at once can meet SQLite's deadlock guard (one switching the file to
        // WAL while the other holds its write lock): SQLITE_BUSY at once, without the busy timeout. Try again for
        // up to the busy timeout (10 s); the second attempt finds the index the other process made.
        var attempt = 0
        while true {
            do {
                return try prepareOnce(create: create)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                attempt += 1
                guard attempt <= 200 else { throw Self.mapped(error, path: path) }
                usleep(50_000)
            }
        }
    }

    private func prepareOnce(create: Bool) throws {
        do {
            try queue.writeWithoutTransaction { db in
                // One read transaction: the three reads see the same state even while another process creates
                // the index.
                var applicationID: Int32 = 0, version = 0, tables: [String] = []
                try db.inTransaction(.deferred) {
                    applicationID = try Int32(truncatingIfNeeded: Int.fetchOne(db, sql: "PRAGMA application_id") ?? 0)
                    version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                    return .commit
                }
                if applicationID == Self.applicationID {
                    if version > Self.schemaVersion {
                        throw ImageIndexError.newerSchema(path: path, version: version, supported: Self.schemaVersion)
                    }
                    guard version >= 1, tables.contains("images"), tables.contains("meta") else {
                        throw ImageIndexError.database(path: path, reason: "zeroshot index of schema \(version) without its tables")
                    }
                } else if applicationID != 0 || !tables.isEmpty {
                    throw ImageIndexError.otherProgram(path: path, applicationID: applicationID, tables: tables)
                } else {
                    guard create else { throw ImageIndexError.notFound(path: path) }
                    // 16 KiB pages hold 7 rows of 512 float32 (2 KiB each) where 4 KiB pages hold one: the file is
                    // about half the size and reads twice as fast. Set before the first table and before WAL.
                    try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    try db.inTransaction {
                        // Another process may have created the index since the checks above (two `index` runs
                        // started together on a new file): decide again under the write lock (IMMEDIATE).
                        let tablesNow = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
                        if tablesNow > 0 {
                            let idNow = try Int32(truncatingIfNeeded: Int.fetchOne(db, sql: "PRAGMA application_id") ?? 0)
                            let versionNow = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                            guard idNow == Self.applicationID else {
                                let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                                throw ImageIndexError.otherProgram(path: path, applicationID: idNow, tables: names)
                            }
                            if versionNow > Self.schemaVersion {
                                throw ImageIndexError.newerSchema(path: path, version: versionNow, supported: Self.schemaVersion)
                            }
                            return .commit
                        }
                        try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT)")
                        try db.execute(sql: Self.imagesTable("images"))
                        try db.execute(sql: """
                            \(Self.imagesIndex);
                            PRAGMA application_id = \(Self.applicationID);
                            PRAGMA user_version = \(Self.schemaVersion);
                            """)
                        try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('created_at', ?)",
                                       arguments: [String(Date().timeIntervalSince1970)])
                        return .commit
                    }
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw error
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    /// The `images` table of schema 2, named `name`.
    static func imagesTable(_ name: String) -> String {
        """
        CREATE TABLE \(name) (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            time REAL,
            sampling TEXT,
            size INTEGER NOT NULL,
            mtime REAL,
            sha256 TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            indexed_at REAL NOT NULL
        )
        """
    }

    /// (path, time) is unique; a still image (time NULL) is unique per path. Upserts name this as their conflict
    /// target (`ON CONFLICT (path, ifnull(time, -1))`).
    static let imagesIndex = "CREATE UNIQUE INDEX images_path_time ON images (path, ifnull(time, -1))"

    /// The schema of the index as it is now (`PRAGMA user_version`: 1 or 2), read in `db`'s current transaction.
    static func schema(_ db: Database, _ schema: String = "main") throws -> Int {
        try Int.fetchOne(db, sql: "PRAGMA \(schema).user_version") ?? 0
    }

    /// The SQL of a row's time for `SELECT`s: the column in schema 2, NULL in schema 1.
    static func timeColumn(_ db: Database, _ schema: String = "main") throws -> String {
        try Self.schema(db, schema) >= 2 ? "time" : "NULL"
    }

    /// The `ORDER BY` of whole-index reads: path, then a video's frames by time, in the order of the unique index
    /// (so that SQLite walks the index instead of sorting the rows).
    static func rowOrder(_ db: Database, _ schema: String = "main") throws -> String {
        try Self.schema(db, schema) >= 2 ? "path, ifnull(time, -1)" : "path"
    }

    /// Rebuilds a schema-1 `images` table as schema 2 (every row a still image: time and sampling NULL, ids and
    /// bytes unchanged) in one IMMEDIATE transaction, deciding again under the write lock (another process may have
    /// migrated it meanwhile). A file that cannot be written is left at schema 1.
    private func migrate() throws {
        var attempt = 0
        while true {
            do {
                try queue.writeWithoutTransaction { db in
                    guard try Self.schema(db) == 1 else { return }
                    try db.inTransaction(.immediate) {
                        guard try Self.schema(db) == 1 else { return .commit }
                        try db.execute(sql: Self.imagesTable("images_v2"))
                        try db.execute(sql: """
                            INSERT INTO images_v2 (id, path, time, sampling, size, mtime, sha256, width, height, embedding, indexed_at)
                            SELECT id, path, NULL, NULL, size, mtime, sha256, width, height, embedding, indexed_at FROM images;
                            DROP TABLE images;
                            ALTER TABLE images_v2 RENAME TO images;
                            \(Self.imagesIndex);
                            PRAGMA user_version = 2;
                            """)
                        return .commit
                    }
                }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                attempt += 1
                guard attempt <= 200 else { throw Self.mapped(error, path: path) }
                usleep(50_000)
            } catch {
                throw Self.mapped(error, path: path)
            }
        }
    }

    // MARK: - Model

    /// The model the index was made with; nil before anything was indexed.
    public func model() throws -> Model? {
        try guarded {
            try queue.read { db in try Self.model(db, path: path) }
        }
    }

    /// The largest `embedding_dim` an index may record: far above any CLIP, Chinese-CLIP or SigLIP checkpoint
    /// (512 to 1,280 values), and small enough that a row's size in bytes and a matrix of many rows cannot overflow.
    public static let maxEmbeddingDimension = 65_536

    /// The model recorded in the meta table of `schema` (`path` names the file in errors).
    ///
    /// - Throws: `ImageIndexError.database` when `embedding_dim` is not 1 to `maxEmbeddingDimension` (a damaged or
    ///   hand-made index: its rows could not be read, and the sizes computed from it would overflow).
    static func model(_ db: Database, schema: String = "main", path: String) throws -> Model? {
        var values: [String: String] = [:]
        // Values read without trapping on a NULL or a value of another type (a damaged or hand-made file).
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM \(schema).meta") {
            if let key = String.fromDatabaseValue(row["key"]), let value = String.fromDatabaseValue(row["value"]) {
                values[key] = value
            }
        }
        guard let id = values["model_id"], let fingerprint = values["model_fingerprint"],
              let dimension = values["embedding_dim"].flatMap(Int.init) else { return nil }
        guard (1...maxEmbeddingDimension).contains(dimension) else {
            throw ImageIndexError.database(path: path, reason: "the index records embedding_dim \(dimension), not 1 to "
                                           + "\(maxEmbeddingDimension) values; the index is damaged (rebuild it into a new --db)")
        }
        return Model(identity: ModelIdentity(id: id, revision: values["model_revision"], fingerprint: fingerprint),
                     modelType: values["model_type"] ?? "", embeddingDimension: dimension)
    }

    static func setModel(_ db: Database, _ model: Model) throws {
        let values: [(String, String?)] = [
            ("model_id", model.identity.id), ("model_revision", model.identity.revision),
            ("model_fingerprint", model.identity.fingerprint), ("model_type", model.modelType),
            ("embedding_dim", String(model.embeddingDimension)),
        ]
        for (key, value) in values {
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    /// Records `model` in an index without one, or checks that it is the index's model (same fingerprint).
    ///
    /// - Throws: `ImageIndexError.modelMismatch` naming both models.
    public func bind(_ model: Model) throws {
        try guarded {
            try queue.write { db in
                if let existing = try Self.model(db, path: path) {
                    guard existing.identity.fingerprint == model.identity.fingerprint else {
                        throw ImageIndexError.modelMismatch(path: path, index: existing.identity, given: model.identity)
                    }
                } else {
                    try Self.setModel(db, model)
                }
            }
        }
    }

    // MARK: - Contents

    /// The number of rows: still images plus sampled video frames.
    public func count() throws -> Int {
        try guarded { try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM images") ?? 0 } }
    }

    /// What the index holds: `images` still images, `videos` videos (distinct paths with frames) and their
    /// `frames` rows.
    public struct Contents: Sendable, Equatable {
        public var images: Int
        public var videos: Int
        public var frames: Int

        public init(images: Int, videos: Int, frames: Int) {
            self.images = images
            self.videos = videos
            self.frames = frames
        }
    }

    /// The numbers of still images, videos and video frames.
    public func contents() throws -> Contents {
        try guarded {
            try queue.read { db in
                let time = try Self.timeColumn(db)
                let images = try Int.fetchOne(db, sql: "SELECT count(*) FROM images WHERE \(time) IS NULL") ?? 0
                guard time != "NULL" else { return Contents(images: images, videos: 0, frames: 0) }
                let row = try Row.fetchOne(db, sql: "SELECT count(DISTINCT path), count(*) FROM images WHERE time IS NOT NULL")
                return Contents(images: images, videos: row?[0] ?? 0, frames: row?[1] ?? 0)
            }
        }
    }

    /// One stored row: a still image (`time` nil) or a frame of a video.
    public struct Record: Sendable, Equatable {
        public var path: String
        /// Seconds from the start of the video; nil for a still image.
        public var time: Double?
        /// The video's `VideoSampling.key` (with `;partial` when decoding stopped early); nil for a still image.
        public var sampling: String?
        /// Of the file (the whole video for a frame).
        public var size: Int
        public var mtime: Double?
        public var sha256: String
        public var width: Int
        public var height: Int
        /// L2-normalised, `embedding_dim` values.
        public var embedding: [Float]
    }

    /// The rows in path order, a video's frames by time (for tests and exports; `forEachEmbedding` streams without
    /// holding them).
    public func records() throws -> [Record] {
        try guarded {
            try queue.read { db in
                let v2 = try Self.schema(db) >= 2
                let extra = v2 ? "time, sampling" : "NULL AS time, NULL AS sampling"
                return try Row.fetchAll(db, sql: """
                    SELECT path, size, mtime, sha256, width, height, embedding, \(extra) FROM images ORDER BY \(try Self.rowOrder(db))
                    """)
                    .map { row in
                        // A NULL or a value of another type where the schema wants one (a damaged or hand-made file)
                        // is an error naming the index, not a trap.
                        guard let path = String.fromDatabaseValue(row["path"]), let size = Int.fromDatabaseValue(row["size"]),
                              let sha256 = String.fromDatabaseValue(row["sha256"]), let width = Int.fromDatabaseValue(row["width"]),
                              let height = Int.fromDatabaseValue(row["height"]) else {
                            throw ImageIndexError.database(path: self.path, reason: "a row without a path, size, sha256, "
                                                           + "width or height of its type; the index is damaged")
                        }
                        return Record(path: path, time: Double.fromDatabaseValue(row["time"]),
                                      sampling: String.fromDatabaseValue(row["sampling"]), size: size,
                                      mtime: Double.fromDatabaseValue(row["mtime"]), sha256: sha256, width: width, height: height,
                                      embedding: try row.withUnsafeData(atIndex: 6) { Self.floats($0 ?? Data()) })
                    }
            }
        }
    }

    /// Streams the stored embeddings in path order (a video's frames by time), `chunk` rows at a time (memory
    /// bounded by a chunk); a video's frames come under its path, once each.
    ///
    /// - Parameter corrupt: when given, a row whose embedding is not `embedding_dim` float32 values is passed to it
    ///   (`ImageIndexError.corruptEmbedding` naming the image) and left out, and the other rows stream; when nil,
    ///   such a row is thrown.
    /// - Throws: `ImageIndexError.corruptEmbedding`, `.noModel`, the errors of `body`.
    public func forEachEmbedding(chunk: Int = 4096, corrupt: ((ImageIndexError) -> Void)? = nil, _ body: (_ paths: [String], _ embeddings: [[Float]]) throws -> Void) throws {
        try forEachTimedEmbedding(chunk: chunk, corrupt: corrupt) { paths, _, embeddings in try body(paths, embeddings) }
    }

    /// `forEachEmbedding` with each row's time: seconds from the start of its video for a frame, nil for a still
    /// image.
    public func forEachTimedEmbedding(chunk: Int = 4096, corrupt: ((ImageIndexError) -> Void)? = nil,
                                      _ body: (_ paths: [String], _ times: [Double?], _ embeddings: [[Float]]) throws -> Void) throws {
        guard let model = try model() else { throw ImageIndexError.noModel(path: path) }
        let dimension = model.embeddingDimension
        try guarded {
            try queue.read { db in
                try db.execute(sql: "PRAGMA mmap_size = \(Self.readMapSize)")
                let time = try Self.timeColumn(db)
                let statement = try db.makeStatement(sql: "SELECT path, embedding, \(time) FROM images ORDER BY \(try Self.rowOrder(db))")
                let handle = statement.sqliteStatement
                var paths: [String] = [], times: [Double?] = [], embeddings: [[Float]] = []
                paths.reserveCapacity(chunk)
                times.reserveCapacity(chunk)
                embeddings.reserveCapacity(chunk)
                while true {
                    let code = sqlite3_step(handle)
                    if code == SQLITE_DONE { break }
                    guard code == SQLITE_ROW else {
                        throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                            message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                    }
                    let path = sqlite3_column_text(handle, 0).map { String(cString: $0) } ?? ""
                    let frameTime = sqlite3_column_type(handle, 2) == SQLITE_NULL ? nil : sqlite3_column_double(handle, 2)
                    let bytes = Int(sqlite3_column_bytes(handle, 1))
                    guard bytes == dimension * 4, let blob = sqlite3_column_blob(handle, 1) else {
                        let error = ImageIndexError.corruptEmbedding(path: self.path, image: Self.rowName(path, frameTime),
                                                                     bytes: bytes, dimension: dimension)
                        guard let corrupt else { throw error }
                        corrupt(error)
                        continue
                    }
                    paths.append(path)
                    times.append(frameTime)
                    embeddings.append(Self.floats(UnsafeRawBufferPointer(start: blob, count: bytes)))
                    if paths.count == chunk {
                        try body(paths, times, embeddings)
                        paths.removeAll(keepingCapacity: true)
                        times.removeAll(keepingCapacity: true)
                        embeddings.removeAll(keepingCapacity: true)
                    }
                }
                if !paths.isEmpty { try body(paths, times, embeddings) }
            }
        }
    }

    /// A row as messages name it: the path, and for a frame "at T s" (`VideoTime.text`).
    static func rowName(_ path: String, _ time: Double?) -> String {
        guard let time else { return path }
        return "\(path) at \(VideoTime.text(time)) s"
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database, else SQLite's list of problems.
    public func integrityCheck() throws -> String {
        try guarded {
            try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
        }
    }

    // MARK: - Encoding

    /// float32 little-endian bytes.
    static func blob(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { floats($0) }
    }

    /// The float32 little-endian values of `raw`.
    static func floats(_ raw: UnsafeRawBufferPointer) -> [Float] {
        [Float](unsafeUninitializedCapacity: raw.count / 4) { buffer, count in
            count = raw.count / 4
            #if _endian(little)
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * 4)]))
            #else
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
            #endif
        }
    }

    // MARK: - Errors

    /// Runs `body`, turning GRDB's errors into `ImageIndexError`s that name the file.
    func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    static func mapped(_ error: Error, path: String) -> Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_FULL:
            return ImageIndexError.diskFull(path: path, reason: error.message ?? "database or disk is full")
        case .SQLITE_NOTADB:
            return ImageIndexError.notSQLite(path: path)
        default:
            return ImageIndexError.database(path: path, reason: error.message ?? "\(error)")
        }
    }
}
