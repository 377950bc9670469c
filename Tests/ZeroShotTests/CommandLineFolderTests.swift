import Foundation
import TestSupport
import XCTest
import ZeroShot

/// classify and embed over folders, URLs and --files-from: order, skipping, streaming, errors and exit codes.
final class CommandLineFolderTests: XCTestCase {
    struct Row: Decodable, Equatable {
        struct P: Decodable, Equatable { let label: String; let score: Float?; let logit: Float? }
        let image: String
        let predictions: [P]
    }
    struct EmbedRow: Decodable { let input: String; let embedding: [Float] }

    var model: String { get throws { try fixtureModelDirectory().path } }

    /// A library: images in nested folders, hidden ones, AppleDouble files, a text file named like a JPEG.
    func makeLibrary() throws -> URL {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("zeroshot-library-\(UUID().uuidString)")
        addTeardownBlock { try? fm.removeItem(at: root) }
        let layout = [
            "lib/b.jpg": "chelsea.jpg", "lib/a.png": "camera_gray.png", "lib/2024/x.webp": "coffee.webp",
            "lib/2024/Y.jpg": "rocket.jpg", "lib/raw/r.jpg": "rocket.jpg", "lib/.hidden.jpg": "chelsea.jpg",
            "lib/._b.jpg": "chelsea.jpg", "lib/.cache/c.jpg": "chelsea.jpg", "lib/noext": "astronaut_exif6.jpg",
        ]
        for (path, source) in layout {
            let url = root.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: fixtureImage(source), to: url)
        }
        try Data("not an image\n".utf8).write(to: root.appendingPathComponent("lib/notes.jpg"))
        return root
    }

    func run(_ arguments: [String], in directory: URL, stdin: Data? = nil) throws -> CommandLineTests.Run {
        try CommandLineTests.runProcess(CommandLineTests.executable, arguments, directory: directory, stdin: stdin)
    }

    func jsonl(_ text: String) throws -> [Row] {
        try text.split(separator: "\n").map { try JSONDecoder().decode(Row.self, from: Data($0.utf8)) }
    }

    static let walked = ["lib/2024/Y.jpg", "lib/2024/x.webp", "lib/a.png", "lib/b.jpg", "lib/noext", "lib/raw/r.jpg"]

    func testFolderIsWalkedInOrderAndMatchesFileArguments() throws {
        let root = try makeLibrary()
        let labels = ["--labels", "cat,rocket,coffee"]
        let folder = try run(["classify", "--model", model] + labels + ["--format", "jsonl", "lib"], in: root)
        XCTAssertEqual(folder.status, 0, folder.stderr)
        XCTAssertEqual(folder.stderr, "", "no progress line when standard error is not a terminal, no errors")
        let rows = try jsonl(folder.stdout)
        XCTAssertEqual(rows.map(\.image), Self.walked)
        // The same results as naming the files.
        let files = try run(["classify", "--model", model] + labels + ["--format", "jsonl"] + Self.walked, in: root)
        XCTAssertEqual(files.stdout, folder.stdout)
        // json is one array with the same rows; csv and table carry them too.
        let json = try run(["classify", "--model", model] + labels + ["--format", "json", "lib"], in: root)
        XCTAssertEqual(try JSONDecoder().decode([Row].self, from: Data(json.stdout.utf8)), rows)
        XCTAssertTrue(json.stdout.hasPrefix("[{\"image\": \"lib/2024/Y.jpg\""), json.stdout)
        XCTAssertTrue(json.stdout.hasSuffix("]}]\n"), json.stdout)
        let csv = try run(["classify", "--model", model] + labels + ["--format", "csv", "--top-k", "1", "lib"], in: root)
        XCTAssertEqual(csv.stdout.split(separator: "\n").count, 1 + Self.walked.count)
        let table = try run(["classify", "--model", model] + labels + ["lib"], in: root)
        XCTAssertEqual(table.stdout.components(separatedBy: "\n\n").map { $0.split(separator: "\n")[0] }.map(String.init),
                       Self.walked)
    }

    /// An explicitly named non-image is an error (the one found while walking was skipped); --exclude; exit 1 after
    /// all the others.
    func testExcludeExplicitNonImageAndExitCode() throws {
        let root = try makeLibrary()
        let r = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "--exclude", "raw",
                         "--exclude", "2024/*.webp", "lib/notes.jpg", "lib", "missing.jpg"], in: root)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(try jsonl(r.stdout).map(\.image), ["lib/2024/Y.jpg", "lib/a.png", "lib/b.jpg", "lib/noext"])
        let errors = r.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors, ["error: missing.jpg: cannot read the file (No such file or directory)",
                                "error: lib/notes.jpg: not an image or a video (no JPEG, PNG, WebP, GIF or BMP signature, nor that of a video container: MP4/MOV, Matroska/WebM, AVI, MPEG-TS)"])
    }

    /// A symbolic link loop is reported, the images are all classified once, and the exit code says so.
    func testSymlinkLoopIsReported() throws {
        let root = try makeLibrary()
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("lib/2024/back").path,
                                                   withDestinationPath: "..")
        let r = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "lib"], in: root)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(try jsonl(r.stdout).map(\.image), Self.walked)
        XCTAssertEqual(r.stderr, "error: lib/2024/back: symbolic link loop (it leads back to lib, which is being walked); "
                       + "not followed\n")
    }

    func testFilesFromAFileAndStandardInput() throws {
        let root = try makeLibrary()
        try Data("lib/b.jpg\r\n\r\nlib/2024\n".utf8).write(to: root.appendingPathComponent("list.txt"))
        let fromFile = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "lib/a.png",
                                "--files-from", "list.txt"], in: root)
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(try jsonl(fromFile.stdout).map(\.image), ["lib/a.png", "lib/b.jpg", "lib/2024/Y.jpg", "lib/2024/x.webp"])
        let fromStdin = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "--files-from", "-"],
                                in: root, stdin: Data("lib/raw/r.jpg\nlib/noext\n".utf8))
        XCTAssertEqual(fromStdin.status, 0, fromStdin.stderr)
        XCTAssertEqual(try jsonl(fromStdin.stdout).map(\.image), ["lib/raw/r.jpg", "lib/noext"])
        let missing = try run(["classify", "--model", model, "--labels", "a,b", "--files-from", "nope.txt"], in: root)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "error: --files-from nope.txt: cannot read the list (No such file or directory)\n")
        let twice = try run(["classify", "--model", model, "--labels", "a,b", "--files-from", "a", "--files-from", "b"], in: root)
        XCTAssertEqual(twice.status, 64)
        let none = try run(["classify", "--model", model, "--labels", "a,b"], in: root)
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("give at least one image file, folder or URL"), none.stderr)
    }

    /// URLs: an image, a 404, an HTML page and a file over --max-download-bytes; each error names the URL and the
    /// others are still classified, in order.
    func testURLs() throws {
        let root = try makeLibrary()
        let jpeg = try Data(contentsOf: fixtureImage("chelsea.jpg"))
        let server = try LoopbackServer { request in
            switch request.path {
            case "/cat.jpg": return .init(status: 200, headers: [("Content-Type", "image/jpeg")], body: jpeg)
            case "/moved": return .init(status: 302, headers: [("Location", "/cat.jpg")])
            case "/page": return .init(status: 200, headers: [("Content-Type", "text/html")], body: Data("<html></html>".utf8))
            default: return .init(status: 404)
            }
        }
        addTeardownBlock { server.stop() }
        let base = server.baseURL.absoluteString
        let r = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "jsonl", "--max-download-bytes",
                         "\(jpeg.count)", base + "/cat.jpg", base + "/gone.jpg", "lib/b.jpg", base + "/page", base + "/moved"],
                        in: root)
        XCTAssertEqual(r.status, 1)
        let rows = try jsonl(r.stdout)
        XCTAssertEqual(rows.map(\.image), [base + "/cat.jpg", "lib/b.jpg", base + "/moved"])
        // The same bytes as the file (in a batch with other neighbours: the same up to a matrix product's rounding).
        for (a, b) in zip(rows[0].predictions, rows[1].predictions) {
            XCTAssertEqual(a.label, b.label)
            XCTAssertEqual(try XCTUnwrap(a.score), try XCTUnwrap(b.score), accuracy: 1e-5)
        }
        XCTAssertEqual(r.stderr.split(separator: "\n").map(String.init), [
            "error: \(base)/gone.jpg: HTTP 404 Not Found",
            "error: \(base)/page: not an image or a video (no JPEG, PNG, WebP, GIF or BMP signature, nor that of a video container: MP4/MOV, Matroska/WebM, AVI, MPEG-TS)",
        ])
        let capped = try run(["classify", "--model", model, "--labels", "cat,dog", "--max-download-bytes", "1000",
                              base + "/cat.jpg"], in: root)
        XCTAssertEqual(capped.status, 1)
        XCTAssertEqual(capped.stderr, "error: \(base)/cat.jpg: the file is \(jpeg.count) bytes, more than the limit of 1000 "
                       + "bytes (--max-download-bytes raises it)\n")
        XCTAssertEqual(capped.stdout, "")
    }

    /// embed --image takes folders too; the old flags keep working; json is one streamed array, jsonl lines.
    func testEmbedFoldersAndTexts() throws {
        let root = try makeLibrary()
        let r = try run(["embed", "--model", model, "--image", "lib/2024", "--image", "lib/a.png", "--text", "a cat"], in: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try JSONDecoder().decode([EmbedRow].self, from: Data(r.stdout.utf8))
        XCTAssertEqual(rows.map(\.input), ["lib/2024/Y.jpg", "lib/2024/x.webp", "lib/a.png", "a cat"])
        for row in rows { XCTAssertEqual(row.embedding.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4) }
        let lines = try run(["embed", "--model", model, "--format", "jsonl", "--image", "lib", "--exclude", "2024"], in: root)
        XCTAssertEqual(lines.stdout.split(separator: "\n").count, 4)
        let bad = try run(["embed", "--model", model, "--image", "lib/notes.jpg", "--image", "lib/a.png"], in: root)
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(try JSONDecoder().decode([EmbedRow].self, from: Data(bad.stdout.utf8)).map(\.input), ["lib/a.png"])
        let empty = try run(["embed", "--model", model, "--image", "lib/.cache", "--exclude", "*"], in: root)
        XCTAssertEqual(empty.stdout, "[]\n")
    }

    /// On a terminal, standard error shows "done/total images, N images/s" and clears it at the end; --quiet
    /// hides it. Runs the command under script(1) for a pseudo-terminal, standard output to a file.
    func testProgressLineOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("no script(1)") }
        let root = try makeLibrary()
        func underTerminal(_ extra: String) throws -> String {
            let command = "'\(CommandLineTests.executable.path)' classify --model '\(try model)' --labels cat,dog "
                + "--format jsonl \(extra) lib > out.jsonl"
            let r = try run(["-qec", command, "/dev/null"], in: root, executable: URL(fileURLWithPath: "/usr/bin/script"))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try jsonl(String(decoding: try Data(contentsOf: root.appendingPathComponent("out.jsonl")),
                                            as: UTF8.self)).count, 6)
            return r.stdout
        }
        let shown = try underTerminal("")
        XCTAssertTrue(shown.contains("\r6/6 images, "), shown.debugDescription)
        XCTAssertTrue(shown.contains(" images/s\u{1B}[K"), shown.debugDescription)
        XCTAssertTrue(shown.hasSuffix("\r\u{1B}[K1 non-image file skipped\r\n"), shown.debugDescription)
        XCTAssertEqual(try underTerminal("--quiet"), "")
    }

    func run(_ arguments: [String], in directory: URL, executable: URL) throws -> CommandLineTests.Run {
        try CommandLineTests.runProcess(executable, arguments, directory: directory)
    }
}
