import Foundation
import Hub
import ImageIO
import TestSupport
import XCTest
@testable import Inputs
#if canImport(Glibc)
import Glibc
#endif

final class LoaderTests: XCTestCase {
    func entry(_ path: String, name: String? = nil) -> InputEntry {
        InputEntry(name: name ?? path, location: .file(URL(fileURLWithPath: path)), shardKey: path, explicit: true)
    }

    func testReadsBytesSizeAndNanosecondMtime() throws {
        let tree = try TestTree(self)
        let bytes = try Data(contentsOf: fixturesDirectory.appendingPathComponent("images/gif_basic.gif"))
        let path = try tree.file("a.gif", bytes)
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_700_000_001, tv_nsec: 987_654_321)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        let loaded = try InputLoader().load(entry(path))
        XCTAssertEqual(loaded.bytes, bytes)
        XCTAssertEqual(loaded.size, bytes.count)
        XCTAssertEqual(try XCTUnwrap(loaded.mtime), 1_700_000_001.987654321, accuracy: 1e-6)
    }

    func testErrorsNameTheInput() throws {
        let tree = try TestTree(self)
        try tree.directory("folder")
        XCTAssertEqual(mkfifo(tree.path("fifo.jpg"), 0o644), 0)
        let cases: [(String, InputError)] = [
            (tree.path("missing.jpg"), .unreadable("shown/missing.jpg", reason: "No such file or directory")),
            (tree.path("folder"), .unreadable("shown/folder", reason: "Is a directory")),
            (tree.path("fifo.jpg"), .notRegularFile("shown/fifo.jpg")),
        ]
        for (path, expected) in cases {
            let name = "shown/" + (path as NSString).lastPathComponent
            XCTAssertThrowsError(try InputLoader().load(entry(path, name: name))) { error in
                XCTAssertEqual(error as? InputError, expected)
                XCTAssertTrue(error.localizedDescription.hasPrefix(name + ": "), error.localizedDescription)
            }
        }
    }

    /// A file whose content is longer than its size said when it was opened (it grew while being read; /proc files
    /// say 0 and hold text) is refused, not read as a mix of two versions.
    func testChangedWhileBeingRead() throws {
        XCTAssertThrowsError(try InputLoader().load(entry("/proc/self/status"))) { error in
            XCTAssertEqual(error as? InputError, .changedWhileReading("/proc/self/status"))
            XCTAssertEqual("\(error)", "/proc/self/status: the file changed while being read; try again")
        }
    }

    /// A URL goes through RemoteFile with the loader's cap; an HTML page then fails to decode naming the URL.
    func testURLs() throws {
        let jpeg = try Data(contentsOf: fixturesDirectory.appendingPathComponent("images/gif_basic.gif"))
        let server = try LoopbackServer { request in
            request.path == "/page" ? .init(status: 200, headers: [("Content-Type", "text/html")],
                                            body: Data("<!doctype html><html>hi</html>".utf8))
                : .init(status: 200, body: jpeg)
        }
        addTeardownBlock { server.stop() }
        let url = server.baseURL.appendingPathComponent("cat.gif")
        let remote = InputEntry(name: url.absoluteString, location: .remote(url), shardKey: url.absoluteString, explicit: true)
        let loaded = try InputLoader().load(remote)
        XCTAssertEqual(loaded.bytes, jpeg)
        XCTAssertEqual(loaded.size, jpeg.count)
        XCTAssertNil(loaded.mtime)
        XCTAssertThrowsError(try InputLoader(maxDownloadBytes: 10).load(remote)) { error in
            XCTAssertEqual(error as? RemoteFileError, .tooLarge(url: url.absoluteString, maxBytes: 10, contentLength: jpeg.count))
        }
        let page = server.baseURL.appendingPathComponent("page")
        let html = try InputLoader().load(InputEntry(name: page.absoluteString, location: .remote(page),
                                                     shardKey: page.absoluteString, explicit: true))
        XCTAssertThrowsError(try ImageDecoder.decode(html.bytes, source: page.absoluteString)) { error in
            XCTAssertEqual("\(error)", "\(page.absoluteString): not an image (no JPEG, PNG, WebP, GIF or BMP signature)")
        }
    }

    func testFilesFrom() throws {
        let tree = try TestTree(self)
        let list = try tree.file("list.txt", Data("a.jpg\r\n\r\n  \nphotos/b c.png \nhttps://example.com/x.jpg\n\n dir\t\n".utf8))
        XCTAssertEqual(try FilesFrom.read(list), ["a.jpg", "photos/b c.png ", "https://example.com/x.jpg", " dir\t"])
        XCTAssertEqual(try FilesFrom.lines(Data(), source: "x"), [])
        XCTAssertEqual(try FilesFrom.lines(Data("only".utf8), source: "x"), ["only"])
        XCTAssertThrowsError(try FilesFrom.read(tree.path("nope.txt"))) { error in
            XCTAssertEqual("\(error)", "--files-from \(tree.path("nope.txt")): cannot read the list (No such file or directory)")
        }
        let binary = try tree.file("bin.txt", Data([0xFF, 0xFE, 0x00, 0x41]))
        XCTAssertThrowsError(try FilesFrom.read(binary)) { error in
            XCTAssertEqual("\(error)", "--files-from \(binary): the list is not UTF-8 text")
        }
    }

    /// A pipe (a shell's `--files-from <(find ...)`) is read to its end; a directory, an endless device and a
    /// list with NUL bytes are errors naming the list.
    func testFilesFromPipeDirectoryDeviceAndNUL() throws {
        let tree = try TestTree(self)
        let fifo = tree.path("list.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            let text = Array("a.jpg\nb.jpg\n".utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            close(fd)
        }
        writer.start()
        XCTAssertEqual(try FilesFrom.read(fifo), ["a.jpg", "b.jpg"])
        XCTAssertThrowsError(try FilesFrom.read(tree.root.path)) { error in
            XCTAssertEqual("\(error)", "--files-from \(tree.root.path): cannot read the list (Is a directory)")
        }
        XCTAssertThrowsError(try FilesFrom.read("/dev/zero", maxBytes: 1 << 20)) { error in
            XCTAssertEqual("\(error)", "--files-from /dev/zero: the list is larger than 1048576 bytes")
        }
        XCTAssertThrowsError(try FilesFrom.lines(Data("a.jpg\0b.jpg\0".utf8), source: "l.txt")) { error in
            XCTAssertEqual("\(error)", "--files-from l.txt: the list holds a NUL byte (give one path per line, not -print0 output)")
        }
    }

    /// A line that is not UTF-8 is a problem naming the list and the line; the other lines are kept.
    func testFilesFromListKeepsTheLinesAroundANonUTF8One() throws {
        let tree = try TestTree(self)
        let list = try tree.file("list.txt", Data("a.jpg\r\n".utf8) + Data([0x6C, 0x61, 0x74, 0xE9, 0x2E, 0x6A, 0x70, 0x67, 0x0A]) + Data("\nb.jpg\n".utf8))
        let (lines, problems) = try FilesFrom.readList(list)
        XCTAssertEqual(lines, ["a.jpg", "b.jpg"])
        XCTAssertEqual(problems, [.invalidName(directory: "--files-from \(list) line 2", bytes: [0x6C, 0x61, 0x74, 0xE9, 0x2E, 0x6A, 0x70, 0x67])])
        XCTAssertEqual("\(problems[0])", "--files-from \(list) line 2: a name that is not valid UTF-8 (lat\u{FFFD}.jpg); left out")
        let nul = try tree.file("nul.txt", Data("a.jpg\0b.jpg\0".utf8))
        XCTAssertThrowsError(try FilesFrom.readList(nul)) { error in
            XCTAssertEqual("\(error)", "--files-from \(nul): the list holds a NUL byte (give one path per line, not -print0 output)")
        }
    }

    func testContentKind() throws {
        func kind(_ data: Data) -> ContentKind { data.withUnsafeBytes { ContentKind.sniff($0) } }
        XCTAssertEqual(kind(Header.png), .image(.png))
        XCTAssertEqual(kind(Header.jpeg), .image(.jpeg))
        XCTAssertEqual(kind(Header.tiff), .unsupportedImage("TIFF"))
        XCTAssertEqual(kind(Header.text), .other)
        XCTAssertEqual(kind(Data()), .other)
        XCTAssertTrue(ContentKind.unsupportedImage("HEIF").isInput)
        XCTAssertFalse(ContentKind.other.isInput)
    }
}

final class LoaderSizeLimitTests: XCTestCase {
    func testFileOverTheLimitIsRefusedFromItsSize() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-sparse-\(UUID().uuidString).jpg")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data([0xFF, 0xD8, 0xFF])))
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 1 << 40)
        try handle.close()
        XCTAssertThrowsError(try InputLoader.readFile(url.path, name: "sparse.jpg")) { error in
            XCTAssertEqual(error as? InputError, .tooLarge("sparse.jpg", size: 1 << 40, limit: 1 << 30))
        }
        XCTAssertEqual(InputLoader.maxFileBytes, 1 << 30)
        XCTAssertThrowsError(try InputLoader.readFile(url.path, name: "sparse.jpg", maxBytes: (1 << 40) - 1)) { error in
            XCTAssertEqual(error as? InputError, .tooLarge("sparse.jpg", size: 1 << 40, limit: (1 << 40) - 1))
            XCTAssertEqual("\(error)", "sparse.jpg: the file is 1099511627776 bytes, over the limit of 1099511627775 "
                           + "bytes for a file read whole")
        }
    }

    func testFilesFromRefusesARegularFileFromItsSize() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-list-\(UUID().uuidString).txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data("a.jpg\n".utf8)))
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        XCTAssertEqual(try FilesFrom.read(url.path, maxBytes: 6), ["a.jpg"])
        XCTAssertThrowsError(try FilesFrom.read(url.path, maxBytes: 5)) { error in
            XCTAssertEqual("\(error)", "--files-from \(url.path): the list is 6 bytes, larger than 5 bytes")
        }
    }
}
