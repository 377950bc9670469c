import Foundation
import XCTest
@testable import ImageIO

/// Paths that are not readable image files fail with `.unreadable`, naming the path and the system's reason.
final class DecodeFileErrorTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("decode-file-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func assertUnreadable(_ url: URL, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url), file: file, line: line) { error in
            guard let e = error as? ImageIOError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .unreadable, file: file, line: line)
            XCTAssertEqual(e.source, url.path, file: file, line: line)
            XCTAssertTrue(e.reason.lowercased().contains(expected.lowercased()), "\(e.reason)", file: file, line: line)
        }
    }

    func testDirectoryPassedAsImage() throws {
        let sub = directory.appendingPathComponent("photos.jpg")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        assertUnreadable(sub, "is a directory")
    }

    func testSymlinkLoop() throws {
        let a = directory.appendingPathComponent("a.png"), b = directory.appendingPathComponent("b.png")
        XCTAssertEqual(symlink(b.path, a.path), 0)
        XCTAssertEqual(symlink(a.path, b.path), 0)
        assertUnreadable(a, "symbolic links")
    }

    func testMissingFile() {
        assertUnreadable(directory.appendingPathComponent("missing file ü\n.jpg"), "no such file")
    }

    func testFIFOIsNotReadAsAnImage() throws {
        let fifo = directory.appendingPathComponent("pipe.jpg")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        assertUnreadable(fifo, "not a regular file")
    }

    func testCharacterDeviceIsNotReadAsAnImage() {
        assertUnreadable(URL(fileURLWithPath: "/dev/zero"), "not a regular file")
    }
}
