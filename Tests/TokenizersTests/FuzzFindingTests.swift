import Foundation
import XCTest
@testable import Tokenizers

/// Behaviour fixed after fuzzing the tokenizer files (Tests/Fuzz/Regressions/ holds the inputs that found it).
final class FuzzFindingTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tok-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: tmp.appendingPathComponent(name))
    }

    /// merges.txt with Windows line ends: "\r\n" is one Swift Character, so splitting lines by Character read the
    /// whole file as one line.
    func testMergesWithCRLFLineEnds() throws {
        try write("vocab.json", #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}"#)
        try write("merges.txt", "#version: 0.2\r\na b</w>\r\n")
        let tokenizer = try CLIPTokenizer(directory: tmp)
        XCTAssertEqual(tokenizer.encode("ab").ids, [5, 4, 6])
    }
}
