import Foundation
import XCTest
import ImageIO

/// An empty file is rejected without keeping memory: Foundation's `Data(contentsOf:)` keeps a 4 KiB buffer for each
/// empty file it reads (found by LeakSanitizer), which a long run over a folder with empty files would accumulate.
final class EmptyFileMemoryTests: XCTestCase {
    func testDecodingEmptyFilesKeepsNoMemory() throws {
        if let sanitizer = ProcessInfo.processInfo.environment["ZEROSHOT_SANITIZER"] {
            throw XCTSkip("resident memory is not measurable under the \(sanitizer) sanitizer (shadow memory, quarantine)")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).jpg")
        try Data().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        func decode(times: Int) {
            for _ in 0..<times {
                XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
                    XCTAssertEqual((error as? ImageIOError)?.kind, .notAnImage, "\(error)")
                }
            }
        }
        decode(times: 20)
        let before = try residentBytes()
        decode(times: 5000)
        let grown = try residentBytes() - before
        // 5,000 kept buffers would be 20 MiB.
        XCTAssertLessThan(grown, 8 << 20, "resident memory grew by \(grown >> 10) KiB over 5,000 empty files")
    }

    /// Resident bytes of this process (/proc/self/statm, second field, in pages).
    private func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return try XCTUnwrap(Int(fields[1])) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
