import FuzzTargets
import Foundation
import XCTest

/// Every input a fuzzer found a problem with (`Tests/Fuzz/Regressions/TARGET/`), and every seed, goes through its
/// harness again: a crash here is the problem come back.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testEveryRegressionFolderNamesAHarness() throws {
        let folder = Self.root.appendingPathComponent("Tests/Fuzz/Regressions")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where !name.hasPrefix(".") {
            XCTAssertNotNil(FuzzTargets.named(name), "Tests/Fuzz/Regressions/\(name) names no harness")
        }
    }

    func testRegressionInputsRunCleanly() throws {
        let folder = Self.root.appendingPathComponent("Tests/Fuzz/Regressions")
        for target in FuzzTargets.all {
            let dir = folder.appendingPathComponent(target.name)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for file in files.sorted() where !file.hasPrefix(".") {
                let data = try Data(contentsOf: dir.appendingPathComponent(file))
                target.run(data)
            }
        }
    }

    func testEveryHarnessHasSeedsAndItsDictionary() throws {
        XCTAssertEqual(Set(FuzzTargets.all.map(\.name)).count, FuzzTargets.all.count, "two harnesses share a name")
        for target in FuzzTargets.all {
            XCTAssertFalse(Self.seedFiles(target).isEmpty, "\(target.name): its seed patterns match no file")
            if let dictionary = target.dictionary {
                let path = Self.root.appendingPathComponent("Tests/Fuzz/Dictionaries/\(dictionary)").path
                XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(target.name): no \(dictionary)")
            }
        }
    }

    func testSeedsRunCleanly() throws {
        for target in FuzzTargets.all {
            for url in Self.seedFiles(target) {
                target.run(try Data(contentsOf: url))
            }
        }
    }

    /// The files a target's seed patterns match (`*` within a name, `**` any folders), as scripts/fuzz expands them.
    static func seedFiles(_ target: FuzzTarget) -> [URL] {
        var out: [URL] = []
        for pattern in target.seeds {
            guard pattern.contains("*") else {
                var isDirectory: ObjCBool = false
                let url = root.appendingPathComponent(pattern)
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    out.append(url)
                }
                continue
            }
            let regex = Self.regex(glob: pattern)
            let base = ((pattern.components(separatedBy: "*").first ?? "") as NSString).deletingLastPathComponent
            guard let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent(base).path) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = base.isEmpty ? relative : base + "/" + relative
                var isDirectory: ObjCBool = false
                if path.range(of: regex, options: .regularExpression) != nil,
                   FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory),
                   !isDirectory.boolValue {
                    out.append(root.appendingPathComponent(path))
                }
            }
        }
        return out
    }

    /// A glob as bash's globstar reads it: `**/` any folders (or none), `*` any characters but `/`, `?` one.
    static func regex(glob: String) -> String {
        var out = "^"
        var rest = Substring(glob)
        while let c = rest.first {
            if rest.hasPrefix("**/") {
                out += "(.*/)?"
                rest = rest.dropFirst(3)
                continue
            }
            switch c {
            case "*": out += "[^/]*"
            case "?": out += "[^/]"
            default: out += NSRegularExpression.escapedPattern(for: String(c))
            }
            rest = rest.dropFirst()
        }
        return out + "$"
    }

    func testGlobsMatchAsBashDoes() {
        func matches(_ glob: String, _ path: String) -> Bool {
            path.range(of: Self.regex(glob: glob), options: .regularExpression) != nil
        }
        XCTAssertTrue(matches("Tests/Fixtures/**/config.json", "Tests/Fixtures/config.json"))
        XCTAssertTrue(matches("Tests/Fixtures/**/config.json", "Tests/Fixtures/models/tiny/config.json"))
        XCTAssertFalse(matches("Tests/Fixtures/**/config.json", "Tests/Fixtures/models/tiny/preprocessor_config.json"))
        XCTAssertTrue(matches("Tests/Fixtures/images/*.png", "Tests/Fixtures/images/a.png"))
        XCTAssertFalse(matches("Tests/Fixtures/images/*.png", "Tests/Fixtures/images/sub/a.png"))
        XCTAssertFalse(matches("Tests/Fixtures/images/*.png", "Tests/Fixtures/images/a.pngx"))
    }
}
