import Foundation
import XCTest

@testable import SafeTensors

/// Builds safetensors files byte by byte, including deliberately broken ones.
enum Writer {
    static func file(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        let h = Array(header.utf8)
        return file(headerBytes: h, data: data, headerLength: headerLength)
    }

    static func file(headerBytes: [UInt8], data: [UInt8], headerLength: UInt64? = nil) -> Data {
        var out = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        out.append(contentsOf: data)
        return out
    }

    static func bytes(_ floats: [Float]) -> [UInt8] {
        floats.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } }
    }
}

final class SafeTensorsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func write(_ data: Data, _ name: String = "t.safetensors") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    /// Opening must throw `invalidHeader` (never crash) and name the file.
    func assertHostile(_ data: Data, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(data)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url), file: file, line: line) { error in
            guard case SafeTensorsError.invalidHeader(let path, let reason) = error else {
                return XCTFail("expected invalidHeader, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(path, url.path, file: file, line: line)
            XCTAssertTrue(reason.contains(fragment), "reason \(reason) lacks \(fragment)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(url.path), file: file, line: line)
        }
    }

    func testReadsF32F16BF16AndKeepsIntegerEntries() throws {
        let f32 = Writer.bytes([1, -2.5, 3, 4.25])
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC1]          // 1.0, -2.5
        let bf16: [UInt8] = [0x80, 0x3F, 0x20, 0xC0]         // 1.0, -2.5
        let i64: [UInt8] = Array(repeating: 0, count: 16)
        var data = f32
        data += f16 + bf16 + i64
        let header = """
        {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
        "h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]},\
        "position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[24,40]}}
        """
        // Pad the header to a multiple of 8 so F32 data is aligned (as the reference writer does).
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let file = try SafeTensorsFile(contentsOf: write(Writer.file(header: padded, data: data)))
        XCTAssertEqual(file.names, ["a", "b", "h", "position_ids"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        let a = try file.floats("a", shape: [2, 2])
        XCTAssertEqual(a.array, [1, -2.5, 3, 4.25])
        XCTAssertTrue(a.isMappedView, "aligned F32 should be read in place")
        XCTAssertEqual(try file.floats("h").array, [1, -2.5])
        XCTAssertEqual(try file.floats("b").array, [1, -2.5])
        XCTAssertEqual(file.info("position_ids")?.dtype, .i64)
        XCTAssertThrowsError(try file.floats("position_ids")) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .unsupportedDType(name: "position_ids", file: file.url.path, dtype: "I64"))
        }
        XCTAssertThrowsError(try file.floats("a", shape: [4])) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .shapeMismatch(name: "a", file: file.url.path, expected: [4], found: [2, 2]))
            XCTAssertTrue("\(error)".contains("a") && "\(error)".contains("[4]") && "\(error)".contains("[2, 2]"))
        }
        XCTAssertThrowsError(try file.floats("nope")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .tensorNotFound(name: "nope", file: file.url.path))
        }
    }

    func testUnalignedF32IsCopied() throws {
        let header = #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#   // 55 bytes: unaligned data
        XCTAssertNotEqual((8 + header.utf8.count) % 4, 0)
        let file = try SafeTensorsFile(contentsOf: write(Writer.file(header: header, data: Writer.bytes([0.5, 7, -1]))))
        let x = try file.floats("x")
        XCTAssertFalse(x.isMappedView)
        XCTAssertEqual(x.array, [0.5, 7, -1])
    }

    func testScalarAndEmptyTensors() throws {
        let header = #"{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}}"#
        let file = try SafeTensorsFile(contentsOf: write(Writer.file(header: header, data: Writer.bytes([4.605]))))
        XCTAssertEqual(try file.floats("s", shape: []).array, [4.605])
        XCTAssertEqual(try file.floats("e").count, 0)
    }

    func testHostileHeaders() throws {
        let ok = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data = Writer.bytes([1, 2])
        try assertHostile(Writer.file(header: ok, data: data, headerLength: UInt64.max), contains: "exceeds")
        try assertHostile(Writer.file(header: ok, data: data, headerLength: 1 << 40), contains: "exceeds")
        try assertHostile(Writer.file(header: ok, data: data, headerLength: 10_000), contains: "exceeds the file size")
        try assertHostile(Data([1, 2, 3]), contains: "smaller than")
        try assertHostile(Writer.file(header: "{not json", data: data), contains: "JSON")
        try assertHostile(Writer.file(header: "[1,2]", data: data), contains: "JSON object")
        try assertHostile(Writer.file(headerBytes: [0x7B, 0xFF, 0xFE, 0x7D], data: data), contains: "UTF-8")
        try assertHostile(Writer.file(header: "", data: data), contains: "JSON object")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#, data: data),
                          contains: "outside")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: data),
                          contains: "outside")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: data),
                          contains: "outside")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}}"#, data: data),
                          contains: "JSON")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,1e30]}}"#, data: data),
                          contains: "JSON")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: data),
                          contains: "data_offsets")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data),
                          contains: "needs 12 bytes")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[-1,-2],"data_offsets":[0,8]}}"#, data: data),
                          contains: "negative")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: data),
                          contains: "overflows")
        // Regression: an unknown dtype skipped the size check, and its element count trapped on overflow.
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"Q4","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: data),
                          contains: "overflows")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, data: data),
                          contains: "JSON")
        try assertHostile(Writer.file(header: #"{"x":{"shape":[2],"data_offsets":[0,8]}}"#, data: data),
                          contains: "dtype")
        // Two tensors sharing bytes.
        try assertHostile(Writer.file(header: """
            {"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}
            """, data: data), contains: "overlap")
        // Bytes no tensor accounts for.
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data),
                          contains: "gap")
        try assertHostile(Writer.file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data),
                          contains: "cover")
    }

    func testMissingFileAndDirectory() throws {
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: dir.appendingPathComponent("absent.safetensors"))) { error in
            guard case SafeTensorsError.cannotOpen(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("absent.safetensors"))
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: dir)) { error in
            guard case SafeTensorsError.cannotOpen = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: dir)) { error in
            guard case SafeTensorsError.cannotOpen(let path, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("model.safetensors") && reason.contains("index"))
        }
    }

    /// Fraction of the pages of `range` (file offsets) of a mapped file that are in the page cache.
    private func residentFraction(_ file: SafeTensorsFile, _ range: Range<Int>) -> Double {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let pages = (range.upperBound - start + page - 1) / page
        var vector = [UInt8](repeating: 0, count: pages)
        let base = UnsafeMutableRawPointer(mutating: file.mapping.base + start)
        guard mincore(base, range.upperBound - start, &vector) == 0 else { return -1 }
        return Double(vector.filter { $0 & 1 != 0 }.count) / Double(pages)
    }

    /// Drops the file from the page cache, so that only a read brings it back.
    private func evictFromPageCache(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        fsync(fd)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// Skips the test on kernels without MADV_POPULATE_READ (Linux 5.14+), tried on an anonymous page.
    private func requirePopulateRead() throws {
        let probe = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        defer { munmap(probe, 4096) }
        guard madvise(probe, 4096, 22) == 0 else { throw XCTSkip("this kernel has no MADV_POPULATE_READ") }
    }

    func testPrefetchReadsTheNamedTensorsIntoMemory() throws {
        // "first" 64 MiB, then "second" 16 MiB; only "second" is prefetched. Read-ahead (8 MiB windows here) runs
        // forwards from what is read, so most of "first" stays on disk.
        let firstCount = 16 << 20, secondCount = 4 << 20
        let firstValues = [Float](repeating: 1.5, count: firstCount)
        var secondValues = [Float](repeating: 0, count: secondCount)
        for i in stride(from: 0, to: secondCount, by: 4099) { secondValues[i] = Float(i) }
        let header = #"{"first":{"dtype":"F32","shape":[\#(firstCount)],"data_offsets":[0,\#(4 * firstCount)]},"#
            + #""second":{"dtype":"F32","shape":[\#(secondCount)],"#
            + #""data_offsets":[\#(4 * firstCount),\#(4 * (firstCount + secondCount))]}}"#
        var data = Writer.file(header: header)
        firstValues.withUnsafeBytes { data.append(contentsOf: $0) }
        secondValues.withUnsafeBytes { data.append(contentsOf: $0) }
        let url = try write(data, "model.safetensors")
        try evictFromPageCache(url.path)
        try requirePopulateRead()
        let checkpoint = try SafeTensorsCheckpoint(directory: dir)
        let file = try XCTUnwrap(checkpoint.file(containing: "first"))
        let first = try XCTUnwrap(checkpoint.info("first")).byteRange
        let second = try XCTUnwrap(checkpoint.info("second")).byteRange
        guard residentFraction(file, first) < 0.5, residentFraction(file, second) < 0.5 else {
            throw XCTSkip("this file system keeps the file in memory (fadvise DONTNEED had no effect)")
        }
        checkpoint.prefetch(["second", "no such tensor"])
        // At least 90%, not all: in a memory-limited cgroup (a CI container) the kernel may already have reclaimed a
        // few of the pages just read (seen: 0.992). Without the prefetch the fraction stays below 0.5.
        let deadline = Date().addingTimeInterval(20)
        while residentFraction(file, second) < 0.9, Date() < deadline { usleep(10_000) }
        XCTAssertGreaterThanOrEqual(residentFraction(file, second), 0.9, "the prefetched tensor was not read within 20 s")
        XCTAssertLessThan(residentFraction(file, first), 0.5)
        XCTAssertTrue(try checkpoint.floats("first").array == firstValues)
        XCTAssertTrue(try checkpoint.floats("second").array == secondValues)
    }

    /// Fraction of the pages of the file at `path` that are in the page cache (a fresh mapping, not touched).
    private func pageCacheFraction(_ path: String) -> Double {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return -1 }
        let size = Int(st.st_size), page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return -1 }
        defer { munmap(base, size) }
        var vector = [UInt8](repeating: 0, count: (size + page - 1) / page)
        guard mincore(base, size, &vector) == 0 else { return -1 }
        return Double(vector.filter { $0 & 1 != 0 }.count) / Double(vector.count)
    }

    /// Resident KiB of this process's mapping of `path` (per /proc/self/smaps); nil when it is not mapped.
    private func residentKilobytes(ofMapping path: String) -> Int? {
        // Read to the end with read(2): /proc files report size 0, and one buffered read may stop short.
        let fd = open("/proc/self/smaps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let smaps = String(decoding: bytes, as: UTF8.self)
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if line.first?.isHexDigit == true && line.contains("-") && !line.hasPrefix("Rss") {
                inMapping = line.hasSuffix(" " + path)
            } else if inMapping, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ").dropFirst().first ?? "")
            }
        }
        return nil
    }

    func testEveryHalfAndBFloat16BitPatternConvertsExactly() throws {
        // Every 16-bit pattern 17 times (more than one conversion block), stored at an odd byte offset (after a
        // 1-byte U8 tensor), as F16 and as BF16.
        let patterns = (0..<(17 << 16)).map { UInt16(truncatingIfNeeded: $0) }
        let n = patterns.count
        let header = #"{"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"#
            + #""half":{"dtype":"F16","shape":[\#(n)],"data_offsets":[1,\#(1 + 2 * n)]},"#
            + #""brain":{"dtype":"BF16","shape":[\#(n)],"data_offsets":[\#(1 + 2 * n),\#(1 + 4 * n)]}}"#
        // Header length chosen so that the data section starts at an even offset: "half" then starts at an odd one.
        var data = Writer.file(header: (8 + header.utf8.count) % 2 == 0 ? header : header + " ", data: [7])
        XCTAssertEqual((data.count + 0) % 2, 1)  // 8 + header + the pad byte: odd
        for _ in 0..<2 { for p in patterns { data.append(UInt8(p & 0xff)); data.append(UInt8(p >> 8)) } }
        _ = try write(data, "model.safetensors")
        let checkpoint = try SafeTensorsCheckpoint(directory: dir)
        let half = try checkpoint.floats("half"), brain = try checkpoint.floats("brain")
        XCTAssertEqual(half.count, n)
        var mismatches = 0
        for (i, p) in patterns.enumerated() {
            let h = Float(Float16(bitPattern: p)), b = Float(bitPattern: UInt32(p) << 16)
            let (gotH, gotB) = (half.pointer[i], brain.pointer[i])
            let sameH = h.isNaN ? gotH.isNaN && gotH.sign == h.sign : gotH.bitPattern == h.bitPattern
            let sameB = b.isNaN ? gotB.isNaN && gotB.sign == b.sign : gotB.bitPattern == b.bitPattern
            if !sameH || !sameB { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertEqual(half.pointer[0x3C00], 1)
        XCTAssertEqual(half.pointer[0x0001], Float(Float16.leastNonzeroMagnitude))
        XCTAssertEqual(half.pointer[0xFC00], -.infinity)
    }

    func testReleasedPagesLeaveResidentMemoryAndReadBackTheSame() throws {
        // "half": 8 MiB of F16, converted (its pages are released at once); "full": 16 MiB of F32, read in place.
        let count = 4 << 20
        var half = [UInt16](repeating: 0, count: count), full = [Float](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 1021) { half[i] = Float16(Float(i % 2048)).bitPattern; full[i] = Float(i) }
        let header = #"{"half":{"dtype":"F16","shape":[\#(count)],"data_offsets":[0,\#(2 * count)]},"#
            + #""full":{"dtype":"F32","shape":[\#(count)],"data_offsets":[\#(2 * count),\#(6 * count)]}}"#
        var data = Writer.file(header: header)
        half.withUnsafeBytes { data.append(contentsOf: $0) }
        full.withUnsafeBytes { data.append(contentsOf: $0) }
        let path = try write(data, "model.safetensors").resolvingSymlinksInPath().path
        let checkpoint = try SafeTensorsCheckpoint(directory: dir)

        let converted = try checkpoint.floats("half")
        XCTAssertFalse(converted.isMappedView)
        XCTAssertEqual(converted.pointer[1021 * 7], Float(1021 * 7 % 2048))
        let view = try checkpoint.floats("full")
        XCTAssertTrue(view.isMappedView)
        let sum = { (0..<count).reduce(Float(0)) { $0 + view.pointer[$1] } }
        let expected = sum()
        // Only the F32 tensor's 16 MiB stay resident (plus at most a page at each end).
        let afterReading = try XCTUnwrap(residentKilobytes(ofMapping: path))
        XCTAssertGreaterThanOrEqual(afterReading, 16 << 10)
        XCTAssertLessThan(afterReading, (16 << 10) + 64)

        checkpoint.releasePages("full")
        XCTAssertLessThan(try XCTUnwrap(residentKilobytes(ofMapping: path)), 64)
        checkpoint.releasePages("no such tensor")
        // Touched again, the pages come back from the file with the same values.
        XCTAssertEqual(sum(), expected)
        XCTAssertEqual(view.pointer[1021 * 9], Float(1021 * 9))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(residentKilobytes(ofMapping: path)), 16 << 10)
    }

    /// Whether this process has `path` memory-mapped (per /proc/self/maps).
    private func isMapped(_ path: String) -> Bool {
        let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
        return maps.split(separator: "\n").contains { $0.hasSuffix(" " + path) }
    }

    func testPrefetchStopsWhenTheCheckpointIsReleased() throws {
        // A 96 MiB tensor, prefetched, then the checkpoint is released at once: nothing uses the data any more, so
        // the read must stop (and the file be unmapped) instead of going on through the whole file.
        let count = 24 << 20
        let header = #"{"big":{"dtype":"F32","shape":[\#(count)],"data_offsets":[0,\#(4 * count)]}}"#
        var data = Writer.file(header: header)
        data.append(Data(count: 4 * count))
        let url = try write(data, "model.safetensors")
        let path = url.resolvingSymlinksInPath().path
        try evictFromPageCache(path)
        try requirePopulateRead()
        guard pageCacheFraction(path) < 0.25 else {
            throw XCTSkip("this file system keeps the file in memory (fadvise DONTNEED had no effect)")
        }
        do {
            let checkpoint = try SafeTensorsCheckpoint(directory: dir)
            checkpoint.prefetch(checkpoint.names)
        }
        let deadline = Date().addingTimeInterval(30)
        while isMapped(path), Date() < deadline { usleep(10_000) }
        XCTAssertFalse(isMapped(path), "the file is still mapped 30 s after the checkpoint was released")
        XCTAssertLessThan(pageCacheFraction(path), 0.5, "the prefetch read on after the checkpoint was released")
    }

    func testShardedIndex() throws {
        let a = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let b = #"{"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        _ = try write(Writer.file(header: a, data: Writer.bytes([1, 2])), "s1.safetensors")
        _ = try write(Writer.file(header: b, data: Writer.bytes([3])), "s2.safetensors")
        _ = try write(Data(#"{"metadata":{},"weight_map":{"x":"s1.safetensors","y":"s2.safetensors"}}"#.utf8),
                      "model.safetensors.index.json")
        let ckpt = try SafeTensorsCheckpoint(directory: dir)
        XCTAssertEqual(ckpt.names, ["x", "y"])
        XCTAssertEqual(try ckpt.floats("y").array, [3])
        XCTAssertEqual(try ckpt.floats("x", shape: [2]).array, [1, 2])
        XCTAssertThrowsError(try ckpt.floats("z")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .tensorNotFound(name: "z", file: dir.path))
        }

        // A weight_map entry pointing at a shard without that tensor.
        _ = try write(Data(#"{"weight_map":{"x":"s1.safetensors","y":"s1.safetensors"}}"#.utf8), "model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: dir)) { error in
            guard case SafeTensorsError.invalidIndex(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("y"))
        }
        // Shard names must stay inside the directory.
        _ = try write(Data(#"{"weight_map":{"x":"../s1.safetensors"}}"#.utf8), "model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: dir)) { error in
            guard case SafeTensorsError.invalidIndex = error else { return XCTFail("\(error)") }
        }
        _ = try write(Data(#"{"weight_map":[1]}"#.utf8), "model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: dir)) { error in
            guard case SafeTensorsError.invalidIndex = error else { return XCTFail("\(error)") }
        }
        // A missing shard names the shard file.
        _ = try write(Data(#"{"weight_map":{"x":"s9.safetensors"}}"#.utf8), "model.safetensors.index.json")
        XCTAssertThrowsError(try SafeTensorsCheckpoint(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("s9.safetensors"))
        }
    }

    func testCommittedCheckpoints() throws {
        let models = fixturesDirectory.appendingPathComponent("models")
        let single = try SafeTensorsCheckpoint(directory: models.appendingPathComponent("tiny-p8-quickgelu"))
        let sharded = try SafeTensorsCheckpoint(directory: models.appendingPathComponent("tiny-sharded"))
        XCTAssertEqual(sharded.files.count, 3)
        XCTAssertEqual(single.names.count, sharded.names.count)
        let f16 = try SafeTensorsCheckpoint(directory: models.appendingPathComponent("tiny-f16"))
        XCTAssertEqual(f16.info("logit_scale")?.dtype, .f16)
        XCTAssertEqual(try f16.floats("logit_scale", shape: []).array[0], Float(Float16(Float(log(100.0)))))
        let bf16 = try SafeTensorsCheckpoint(directory: models.appendingPathComponent("tiny-bf16"))
        XCTAssertEqual(bf16.info("logit_scale")?.dtype, .bf16)
        XCTAssertEqual(try bf16.floats("logit_scale").array[0], 4.59375)  // ln 100 rounded to bfloat16
    }
}
