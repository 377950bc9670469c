import Foundation
import TestSupport
import XCTest

/// What the page and schema tests need outside Swift: a Python (`ZEROSHOT_TEST_PYTHON`, a venv with selenium,
/// schemathesis and openapi-spec-validator; `.ci/run` makes one) and, for the page, Debian's chromium and
/// chromedriver. Missing tools skip the test locally; with `ZEROSHOT_CI=1` (set by `.ci/run`) they fail it, so that
/// CI cannot pass by skipping.
enum ExternalTools {
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"

    /// The repository: three levels above this file (Tests/ZeroShotServerTests/PageTestSupport.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Screenshots and reports of these tests: `test-artifacts/` of the repository (git-ignored).
    static var artifacts: URL {
        let dir = repository.appendingPathComponent("test-artifacts")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A tool that is missing under `ZEROSHOT_CI=1`, or a step of a test's set-up that failed.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The Python of `ZEROSHOT_TEST_PYTHON` once it imports `modules` (and chromium and chromedriver exist when
    /// `browser`). - Throws: `XCTSkip` naming what is missing, or `Failure` (a failed test) when `ZEROSHOT_CI=1`.
    static func python(importing modules: [String], browser: Bool = false) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var missing: [String] = []
        let python = environment["ZEROSHOT_TEST_PYTHON"] ?? ""
        if python.isEmpty {
            missing.append("ZEROSHOT_TEST_PYTHON is not set (a Python with \(modules.joined(separator: ", ")); see .ci/run)")
        } else if !FileManager.default.isExecutableFile(atPath: python) {
            missing.append("ZEROSHOT_TEST_PYTHON=\(python) is not an executable")
        } else {
            let check = try run(python, ["-c", "import " + modules.joined(separator: ", ")], timeout: 60)
            if check.status != 0 {
                missing.append("\(python) cannot import \(modules.joined(separator: ", ")): \(check.stderr.suffix(300))")
            }
        }
        if browser {
            for tool in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: tool) {
                missing.append("\(tool) is missing (apt-get install chromium chromium-driver)")
            }
        }
        guard missing.isEmpty else {
            let message = missing.joined(separator: "; ")
            if environment["ZEROSHOT_CI"] == "1" { throw Failure(description: "ZEROSHOT_CI=1: " + message) }
            throw XCTSkip(message)
        }
        return python
    }

    /// Runs `executable` with `arguments` in `directory` (default: the repository), output to temporary files (no
    /// pipe to fill up), and kills it after `timeout` seconds (status -1 then, and stderr says so).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil, timeout: TimeInterval) throws -> CommandRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ZeroshotProcess.environment(environment)
        process.currentDirectoryURL = directory ?? repository
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let timedOut = process.isRunning
        if timedOut {
            process.terminate()
            Thread.sleep(forTimeInterval: 2)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        var stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        if timedOut { stderr += "\n(killed after \(Int(timeout)) s)" }
        return CommandRun(status: timedOut ? -1 : process.terminationStatus,
                          stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self), stderr: stderr)
    }

    static func fixture(_ path: String) -> URL {
        repository.appendingPathComponent("Tests/Fixtures").appendingPathComponent(path)
    }

    /// The tiny CLIP fixture model the server tests serve.
    static var model: URL { fixture("models/tiny-f16") }

    /// A photo index of a few fixture photos in a new temporary directory (`zeroshot index`), for `serve --db`.
    static func photoIndex(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-page-\(UUID().uuidString)")
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for name in ["chelsea.jpg", "rocket.jpg", "coffee.webp", "camera_gray.png", "imagenet_00_243.jpg"] {
            try FileManager.default.copyItem(at: fixture("pipeline/images/" + name), to: photos.appendingPathComponent(name))
        }
        // A 2-second video (a rocket, then a cat): its best frame is a hit with its time and no thumbnail.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") {
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
            ffmpeg.arguments = ["-nostdin", "-loglevel", "error", "-y",
                                "-loop", "1", "-t", "1", "-i", fixture("pipeline/images/rocket.jpg").path,
                                "-loop", "1", "-t", "1", "-i", fixture("pipeline/images/chelsea.jpg").path,
                                "-filter_complex", "[0:v]scale=64:48,setsar=1,fps=10[a];[1:v]scale=64:48,setsar=1,fps=10[b];"
                                    + "[a][b]concat=n=2:v=1:a=0[v]",
                                "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                photos.appendingPathComponent("clip.mp4").path]
            try ffmpeg.run()
            ffmpeg.waitUntilExit()
            guard ffmpeg.terminationStatus == 0 else { throw Failure(description: "ffmpeg could not make the test video") }
        } else if ProcessInfo.processInfo.environment["ZEROSHOT_CI"] == "1" {
            throw Failure(description: "ffmpeg is missing at /usr/bin/ffmpeg (ZEROSHOT_CI=1)")
        }
        let db = dir.appendingPathComponent("photos.db")
        let run = try ZeroshotProcess.run(["index", "--db", db.path, "--model", model.path, photos.path])
        guard run.status == 0 else { throw Failure(description: "zeroshot index failed (\(run.status)): \(run.stderr)") }
        return db
    }
}
