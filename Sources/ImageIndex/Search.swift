import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import GRDBSQLite
import Video
import ZeroShot

/// Every stored embedding held contiguously: `values` is the row-major `[count, dimension]` matrix, row i the
/// embedding of `paths[i]` at `times[i]` (nil for a still image; seconds from the start of the video for a frame),
/// in path order, a video's frames by time.
public struct EmbeddingMatrix: Sendable {
    public let paths: [String]
    /// One per row: nil for a still image, the frame's time for a video frame.
    public let times: [Double?]
    public let dimension: Int
    public let values: [Float]

    public var count: Int { paths.count }

    /// Whether any row is a video frame.
    public let hasFrames: Bool

    public init(paths: [String], times: [Double?]? = nil, dimension: Int, values: [Float]) {
        precondition(values.count == paths.count * dimension, "values must be paths.count x dimension")
        precondition(times == nil || times!.count == paths.count, "times must have one value per path")
        self.paths = paths
        self.times = times ?? [Double?](repeating: nil, count: paths.count)
        self.dimension = dimension
        self.values = values
        self.hasFrames = self.times.contains { $0 != nil }
    }

    /// Cosine similarities `values · query` (`[count]`), one sgemm with n = 1 (oneDNN), for L2-normalised rows and
    /// query.
    public func scores(_ query: [Float]) throws -> [Float] {
        precondition(query.count == dimension, "query must have dimension values")
        var scores = [Float](repeating: 0, count: count)
        guard count > 0 else { return scores }
        try values.withUnsafeBufferPointer { a in
            try query.withUnsafeBufferPointer { b in
                try scores.withUnsafeMutableBufferPointer { c in
                    try sgemm(transA: false, transB: false, m: count, n: 1, k: dimension,
                              a: a.baseAddress!, lda: dimension, b: b.baseAddress!, ldb: 1, c: c.baseAddress!, ldc: 1)
                }
            }
        }
        return scores
    }

    /// The `k` best hits for `query`, best first (ties: path order, then time), found with a bounded heap over the
    /// scores (O(count · log k)), not a full sort. NaN scores rank last.
    ///
    /// A video is one hit, its best-scoring frame (ties: the earliest), unless `allFrames`, where every frame is a
    /// hit of its own; `k` counts hits after that grouping. Still images are one hit each either way.
    public func search(_ query: [Float], topK k: Int, allFrames: Bool = false) throws -> [SearchHit] {
        let scores = try scores(query)
        guard hasFrames && !allFrames else {
            return Self.topK(scores, k).map { SearchHit(path: paths[$0], time: times[$0], score: scores[$0]) }
        }
        // Rows of one path are adjacent (path order): keep each video's best frame (the first of equal scores;
        // NaN only when every frame is NaN).
        var best: [Int] = []
        best.reserveCapacity(count)
        for i in 0..<count {
            if let last = best.last, times[i] != nil, paths[last] == paths[i] {
                let (x, y) = (scores[i], scores[last])
                if x > y || (y.isNaN && !x.isNaN) { best[best.count - 1] = i }
            } else {
                best.append(i)
            }
        }
        let picked = Self.topK(best.map { scores[$0] }, k)
        return picked.map { j in
            let i = best[j]
            return SearchHit(path: paths[i], time: times[i], score: scores[i])
        }
    }

    /// Indices of the `k` largest scores, best first; equal scores by index, NaN after every number.
    static func topK(_ scores: [Float], _ k: Int) -> [Int] {
        let k = min(k, scores.count)
        guard k > 0 else { return [] }
        return scores.withUnsafeBufferPointer { s -> [Int] in
            // "a ranks before b": higher score, then lower index; NaN below every number.
            @inline(__always) func before(_ a: Int, _ b: Int) -> Bool {
                let x = s[a], y = s[b]
                if x > y { return true }
                if x < y { return false }
                if x.isNaN != y.isNaN { return y.isNaN }
                return a < b
            }
            // A min-heap of the k best so far: the root is the worst of them.
            var heap = [Int](repeating: 0, count: k)
            return heap.withUnsafeMutableBufferPointer { h -> [Int] in
                for i in 0..<k {
                    h[i] = i
                    var c = i
                    while c > 0 {
                        let p = (c - 1) / 2
                        guard before(h[p], h[c]) else { break }
                        h.swapAt(p, c)
                        c = p
                    }
                }
                var i = k
                while i < s.count {
                    let worst = s[h[0]]
                    // Most rows are below the worst kept score: one comparison each.
                    if s[i] < worst || (s[i].isNaN && !worst.isNaN) || !before(i, h[0]) {
                        i += 1
                        continue
                    }
                    h[0] = i
                    var c = 0
                    while true {
                        let l = 2 * c + 1, r = l + 1
                        var w = c
                        if l < k && before(h[w], h[l]) { w = l }
                        if r < k && before(h[w], h[r]) { w = r }
                        if w == c { break }
                        h.swapAt(c, w)
                        c = w
                    }
                    i += 1
                }
                return Array(h).sorted(by: before)
            }
        }
    }
}

/// One search result: the stored path, the frame's time for a video (seconds from its start; nil for a still
/// image), and the cosine similarity of its embedding with the query.
public struct SearchHit: Sendable, Equatable, Codable {
    public let path: String
    public let time: Double?
    public let score: Float

    public init(path: String, time: Double? = nil, score: Float) {
        self.path = path
        self.time = time
        self.score = score
    }

    /// The time as output shows it: 3 decimals, truncated (`VideoTime.text`), a JSON number or CSV field; nil for
    /// a still image.
    public var timeText: String? { time.map(VideoTime.text) }
}

extension ImageIndex {
    /// Loads every embedding into one contiguous `[count, dimension]` matrix, in path order (a video's frames by
    /// time), with each row's time.
    ///
    /// - Parameter corrupt: when given, a row whose embedding is not `embedding_dim` float32 values is passed to it
    ///   (`ImageIndexError.corruptEmbedding` naming the image) and left out, and the other rows load; when nil, such
    ///   a row is thrown.
    /// - Throws: `ImageIndexError.noModel`, `.corruptEmbedding`, `.database`.
    public func embeddingMatrix(corrupt: ((ImageIndexError) -> Void)? = nil) throws -> EmbeddingMatrix {
        guard let model = try model() else { throw ImageIndexError.noModel(path: path) }
        let d = model.embeddingDimension
        return try guarded {
            try queue.read { db in
                try db.execute(sql: "PRAGMA mmap_size = \(ImageIndex.readMapSize)")
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM images") ?? 0
                // Every row that loads stores d float32 values in the file or its write-ahead log, so the file
                // sizes bound the rows that can load: a damaged file with many rows of short embeddings is not
                // given a matrix of count x d values.
                let stored = Self.storedBytes(path)
                let capacity = min(count, stored / (d * 4))
                var paths: [String] = [], times: [Double?] = []
                paths.reserveCapacity(capacity)
                times.reserveCapacity(capacity)
                let time = try Self.timeColumn(db)
                // Filled row by row without being zeroed first; on Linux the pages are asked to be huge pages
                // (transparent huge pages in madvise mode), 512 times fewer page faults for the matrix.
                var i = 0, skipped = 0
                var values = try [Float](unsafeUninitializedCapacity: capacity * d) { buffer, initialized in
                    initialized = 0
                    guard let base = buffer.baseAddress else { return }
                    Self.adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
                    let raw = UnsafeMutableRawPointer(base)
                    // SQLite's own step/column calls: no Row per image (a third of the time at 100,000 rows).
                    let statement = try db.makeStatement(sql: "SELECT path, embedding, \(time) FROM images ORDER BY \(try Self.rowOrder(db))")
                    let handle = statement.sqliteStatement
                    while true {
                        let code = sqlite3_step(handle)
                        if code == SQLITE_DONE { break }
                        guard code == SQLITE_ROW else {
                            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                        }
                        let path = sqlite3_column_text(handle, 0).map { String(cString: $0) } ?? ""
                        let frameTime = sqlite3_column_type(handle, 2) == SQLITE_NULL ? nil : sqlite3_column_double(handle, 2)
                        let bytes = Int(sqlite3_column_bytes(handle, 1))
                        guard i + skipped < count else { break }
                        guard bytes == d * 4, let blob = sqlite3_column_blob(handle, 1) else {
                            let error = ImageIndexError.corruptEmbedding(path: self.path, image: Self.rowName(path, frameTime),
                                                                         bytes: bytes, dimension: d)
                            guard let corrupt else { throw error }
                            corrupt(error)
                            skipped += 1
                            continue
                        }
                        guard i < capacity else {
                            throw ImageIndexError.database(path: self.path, reason: "more rows of \(d) values than the "
                                                           + "\(stored) bytes of the index can hold; the index is damaged")
                        }
                        // float32 little-endian: the bytes are the values on a little-endian machine.
                        (raw + i * d * 4).copyMemory(from: blob, byteCount: bytes)
                        paths.append(path)
                        times.append(frameTime)
                        i += 1
                    }
                    initialized = i * d
                }
                guard i + skipped == count else {
                    throw ImageIndexError.database(path: path, reason: "\(i + skipped) rows read where count(*) gave \(count)")
                }
                #if _endian(big)
                values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
                #endif
                return EmbeddingMatrix(paths: paths, times: times, dimension: d, values: values)
            }
        }
    }

    /// The bytes of the index file and its write-ahead log (`-wal`), which hold every stored value.
    static func storedBytes(_ path: String) -> Int {
        var total = 0
        for file in [path, path + "-wal"] {
            var st = stat()
            if stat(file, &st) == 0 { total += Int(st.st_size) }
        }
        return total
    }

    /// Asks the kernel to back `buffer` (not yet touched) with transparent huge pages where it allows them; a
    /// hint, without effect elsewhere.
    static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        let huge = 2 << 20
        guard let base = buffer.baseAddress, buffer.count >= 2 * huge else { return }
        let start = (Int(bitPattern: base) + huge - 1) / huge * huge
        let end = (Int(bitPattern: base) + buffer.count) / huge * huge
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
        #endif
    }

    /// The `topK` stored images and videos closest to `query` (an L2-normalised vector of the index's dimension),
    /// best first, score = cosine similarity; a video is its best frame unless `allFrames` (see
    /// `EmbeddingMatrix.search`).
    ///
    /// `corrupt`: as `embeddingMatrix(corrupt:)` (rows with a corrupt embedding reported and left out).
    ///
    /// - Throws: `ImageIndexError.queryDimension`, and the errors of `embeddingMatrix()`.
    public func search(query: [Float], topK: Int, allFrames: Bool = false,
                       corrupt: ((ImageIndexError) -> Void)? = nil) throws -> [SearchHit] {
        let matrix = try embeddingMatrix(corrupt: corrupt)
        guard query.count == matrix.dimension else {
            throw ImageIndexError.queryDimension(path: path, query: query.count, dimension: matrix.dimension)
        }
        return try matrix.search(query, topK: topK, allFrames: allFrames)
    }

    /// Adds `positive` vectors and subtracts `negative` ones, then L2-normalises (rclip's way of combining a text,
    /// similar images and `--not` terms). Nil when the result is zero.
    public static func combinedQuery(positive: [[Float]], negative: [[Float]]) -> [Float]? {
        guard let d = (positive + negative).first?.count else { return nil }
        var sum = [Float](repeating: 0, count: d)
        for v in positive { for j in 0..<d { sum[j] += v[j] } }
        for v in negative { for j in 0..<d { sum[j] -= v[j] } }
        let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        return sum.map { $0 / norm }
    }
}
