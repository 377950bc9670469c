import Foundation
import XCTest
@testable import ImageIO

/// Empty files (read without `Data(contentsOf:)`: see `FileContentsTests`) give the errors of empty content.
final class EmptyFileTests: XCTestCase {
    private func emptyFile(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-empty-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data().write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return url
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
