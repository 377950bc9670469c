import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The repository's committed fixtures (Tests/Fixtures), located from this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// The first bytes of files of each kind (enough for content sniffing; not decodable images).
enum Header {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
    static let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16])
    static let tiff = Data([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0])
    static let text = Data("just some notes\n".utf8)
}

/// A fresh directory tree under the temporary directory, removed after the test (permissions restored first).
final class TestTree {
    let root: URL

    init(_ test: XCTestCase) throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("zeroshot-inputs-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let root = self.root
        test.addTeardownBlock {
            _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwx", root.path]).waitUntilExit()
            try? FileManager.default.removeItem(at: root)
        }
    }

    /// Writes `data` at `relative` (creating folders), returns its path.
    @discardableResult
    func file(_ relative: String, _ data: Data = Header.png) throws -> String {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        return url.path
    }

    @discardableResult
    func directory(_ relative: String) throws -> String {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func symlink(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent(relative).path,
                                                   withDestinationPath: destination)
    }

    func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Runs `body` with the working directory at the tree's root (names then read as the user typed them).
    func inRoot<T>(_ body: () throws -> T) rethrows -> T {
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(root.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        return try body()
    }
}
