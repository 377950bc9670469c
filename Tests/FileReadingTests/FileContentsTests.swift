import Foundation
import XCTest
@testable import FileReading

/// `FileContents.read`: sizes checked before memory is allocated, whatever the file is.
final class FileContentsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-read-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func file(_ name: String, _ bytes: Data) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    func testReadsTheBytesReadOrMapped() throws {
        let bytes = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let url = try file("a.bin", bytes)
        XCTAssertEqual(try FileContents.read(url, maxBytes: bytes.count), bytes)
        XCTAssertEqual(try FileContents.read(url, maxBytes: bytes.count, mapped: true), bytes)
        XCTAssertEqual(try FileContents.read(path: url.path, maxBytes: .max), bytes)
    }

    /// Foundation leaks 4 KiB per read of an empty file on Linux (found by the preprocessor-config fuzzer).
    func testEmptyFileReadsAsNoBytes() throws {
        let url = try file("empty.bin", Data())
        XCTAssertEqual(try FileContents.read(url, maxBytes: 0), Data())
        XCTAssertEqual(try FileContents.read(url, maxBytes: 10, mapped: true), Data())
    }

    func testRegularFileOverTheLimitIsRefusedBeforeItIsRead() throws {
        let url = folder.appendingPathComponent("sparse.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 1 << 40)  // sparse: 1 TiB stated, nothing on disk
        try handle.close()
        XCTAssertThrowsError(try FileContents.read(url, maxBytes: FileContents.maxConfigBytes)) { error in
            XCTAssertEqual(error as? FileReadError, .tooLarge(size: 1 << 40, limit: 4 << 20))
            XCTAssertEqual(error.localizedDescription, "1099511627776 bytes, over the limit of 4 MiB")
            XCTAssertEqual((error as? FileReadError)?.reason(what: "config.json"),
                           "1099511627776 bytes, over the limit of 4 MiB for config.json")
        }
        XCTAssertThrowsError(try FileContents.read(try file("small", Data(count: 11)), maxBytes: 10, mapped: true)) {
            XCTAssertEqual($0 as? FileReadError, .tooLarge(size: 11, limit: 10))
        }
    }

    func testDeviceIsReadAtMostOneByteOverTheLimit() {
        XCTAssertThrowsError(try FileContents.read(path: "/dev/zero", maxBytes: 1 << 20)) { error in
            XCTAssertEqual(error as? FileReadError, .tooLarge(size: nil, limit: 1 << 20))
            XCTAssertEqual(error.localizedDescription, "more than 1048576 bytes, over the limit of 1 MiB")
        }
    }

    func testFIFOWithoutWriterReadsAsEmptyInsteadOfWaiting() throws {
        let path = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        XCTAssertEqual(try FileContents.read(path: path, maxBytes: 100), Data())
    }

    func testMissingFileAndDirectoryAreUnreadableInTheSystemsWords() {
        XCTAssertThrowsError(try FileContents.read(path: folder.appendingPathComponent("none").path, maxBytes: 10)) {
            XCTAssertEqual($0 as? FileReadError, .missing)
            XCTAssertEqual($0.localizedDescription, "No such file or directory")
        }
        let loop = folder.appendingPathComponent("loop").path
        XCTAssertEqual(symlink(loop, loop), 0)
        XCTAssertThrowsError(try FileContents.read(path: loop, maxBytes: 10)) {
            XCTAssertEqual($0 as? FileReadError, .unreadable("Too many levels of symbolic links"))
        }
        XCTAssertThrowsError(try FileContents.read(folder, maxBytes: 10)) {
            XCTAssertEqual($0 as? FileReadError, .unreadable("it is a directory"))
        }
    }

    func testDescribe() {
        XCTAssertEqual(FileReadError.describe(512 << 20), "512 MiB")
        XCTAssertEqual(FileReadError.describe(1000), "1000 bytes")
    }
}
