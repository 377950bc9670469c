import Foundation
import XCTest
@testable import ImageIO

/// Empty files are read without `Data(contentsOf:)`, which leaks a 4 KiB buffer per empty file on Linux (found by
/// the preprocessor-config fuzzer under LeakSanitizer); the errors are those of empty content.
final class EmptyFileTests: XCTestCase {
    private func emptyFile(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-empty-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data().write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return url
    }

    func testEmptyFileReadsAsNoBytes() throws {
        XCTAssertEqual(try FileContents.read(try emptyFile("empty.bin")), Data())
    }

    func testMissingFileStillThrows() {
        XCTAssertThrowsError(try FileContents.read(URL(fileURLWithPath: "/nonexistent/zeroshot/empty.bin")))
    }

    func testEmptyPreprocessorConfigIsInvalidJSONNamingTheFile() throws {
        let url = try emptyFile("preprocessor_config.json")
        XCTAssertThrowsError(try ImageProcessor(contentsOf: url)) { error in
            guard case let ImageProcessorConfigError.invalidJSON(path, _) = error else {
                return XCTFail("expected invalidJSON, got \(error)")
            }
            XCTAssertEqual(path, url.path)
        }
    }

    func testEmptyImageFileIsNotAnImage() throws {
        let url = try emptyFile("photo.jpg")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
            XCTAssertEqual((error as? ImageIOError)?.kind, .notAnImage)
        }
    }
}
