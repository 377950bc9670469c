import Foundation
import XCTest

/// Test videos made at test time with the `ffmpeg` command line (Debian's /usr/bin/ffmpeg) from the fixture photos,
/// into one temporary folder per test process, each made once. Tests skip when ffmpeg is missing, unless
/// ZEROSHOT_CI=1 (then they fail).
enum TestVideos {
    static let ffmpeg = "/usr/bin/ffmpeg"
    static let ffprobe = "/usr/bin/ffprobe"

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The folder of this test process; folders that earlier test processes left (their process is gone) are
    /// removed first.
    static let folder: URL = {
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        where name.hasPrefix("zeroshot-video-tests-") {
            if let pid = Int32(name.dropFirst("zeroshot-video-tests-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
        let url = temporary.appendingPathComponent("zeroshot-video-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func requireFFmpeg() throws {
        if FileManager.default.isExecutableFile(atPath: ffmpeg) && FileManager.default.isExecutableFile(atPath: ffprobe) {
            return
        }
        if ProcessInfo.processInfo.environment["ZEROSHOT_CI"] == "1" {
            XCTFail("ffmpeg and ffprobe are needed for the video tests (ZEROSHOT_CI=1)")
            throw XCTSkip("ffmpeg missing")
        }
        throw XCTSkip("ffmpeg is not installed")
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs a command; its standard output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Data {
        try runBoth(tool, arguments).output
    }

    /// Runs a command; its standard output and standard error.
    static func runBoth(_ tool: String, _ arguments: [String]) throws -> (output: Data, errors: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errorBox = Box()
        let group = DispatchGroup()
        group.enter()
        let errorHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            errorBox.data = errorHandle.readDataToEndOfFile()
            group.leave()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errors = errorBox.data
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) failed: "
                          + String(decoding: errors.suffix(2000), as: UTF8.self))
        }
        return (output, errors)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: Set<String> = []

    /// A video named `name` in the folder, made once with `ffmpeg -y ARGUMENTS PATH`.
    static func make(_ name: String, _ arguments: [String]) throws -> String {
        let path = folder.appendingPathComponent(name).path
        lock.lock()
        defer { lock.unlock() }
        if made.contains(name) { return path }
        try run(ffmpeg, ["-nostdin", "-v", "error", "-y"] + arguments + [path])
        made.insert(name)
        return path
    }

    static var photos: [String] {
        ["pipeline/images/chelsea.jpg", "pipeline/images/rocket.jpg", "pipeline/images/imagenet_00_243.jpg"]
            .map { fixtures.appendingPathComponent($0).path }
    }

    /// The source clip: three photos of 0.6 s each (cuts at 0.6 and 1.2 s), 176x144, 25 fps, with moving grain
    /// (temporal noise) so that every frame differs; lossless (FFV1 in Matroska) so that encodes start alike.
    static func source(seconds: Double = 0.6, rate: String = "25", size: String = "176:144") throws -> String {
        let name = "source-\(seconds)-\(rate.replacingOccurrences(of: "/", with: "_"))-\(size.replacingOccurrences(of: ":", with: "x")).mkv"
        var arguments: [String] = []
        for photo in photos { arguments += ["-loop", "1", "-t", "\(seconds)", "-i", photo] }
        let filter = "[0]scale=\(size),setsar=1[a];[1]scale=\(size),setsar=1[b];[2]scale=\(size),setsar=1[c];"
            + "[a][b][c]concat=n=3:v=1,fps=\(rate),noise=alls=12:allf=t,format=yuv420p"
        return try make(name, arguments + ["-filter_complex", filter, "-c:v", "ffv1"])
    }

    /// `source()` encoded with `codec` options into `name` (the extension picks the container).
    static func encoded(_ name: String, _ codec: [String], extra: [String] = []) throws -> String {
        try make(name, ["-i", try source()] + extra + codec)
    }

    /// `path` with the display matrix of a rotation (`-metadata:s:v:0 rotate=ANGLE` on a stream copy, which is
    /// how FFmpeg 5.1 writes one).
    static func rotated(_ path: String, _ angle: Int, name: String) throws -> String {
        try make(name, ["-i", path, "-c", "copy", "-metadata:s:v:0", "rotate=\(angle)"])
    }

    /// The frame `ffmpeg -ss TIME -i PATH -frames:v 1 -pix_fmt rgb24` gives (with `filter` as -vf when given).
    /// For MPEG-TS the command line's input seeking lands on frames that are no key frames (its seek in a
    /// transport stream goes by timestamps, not key frames) and decodes B-frames without their references, so
    /// there the reference is output seeking (`-i PATH -ss TIME`), which decodes from the start and drops the
    /// frames before TIME by the same comparison.
    static func cliFrame(_ path: String, at time: String, filter: String? = nil) throws -> Data {
        var arguments = ["-nostdin", "-v", "error"]
        arguments += path.hasSuffix(".ts") ? ["-i", path, "-ss", time] : ["-ss", time, "-i", path]
        if let filter { arguments += ["-vf", filter] }
        arguments += ["-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"]
        return try run(ffmpeg, arguments)
    }

    /// Presentation times (seconds, as ffprobe prints them) of every frame of the video stream.
    static func frameTimes(_ path: String) throws -> [Double] {
        let out = try run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time",
                                    "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
    }

    /// The times of the frames `ffmpeg -i PATH -vf "select='gt(scene,THRESHOLD)',showinfo"` selects.
    static func cliSceneTimes(_ path: String, threshold: Double) throws -> [Double] {
        let (_, errors) = try runBoth(ffmpeg, ["-nostdin", "-v", "info", "-i", path, "-vf",
                                               "select='gt(scene,\(threshold))',showinfo", "-f", "null", "-"])
        let text = String(decoding: errors, as: UTF8.self)
        return text.split(separator: "\n").filter { $0.contains("Parsed_showinfo") && $0.contains("pts_time:") }.compactMap { line in
            guard let range = line.range(of: "pts_time:") else { return nil }
            return Double(line[range.upperBound...].prefix { !$0.isWhitespace })
        }
    }

    static func copy(_ path: String, to name: String, patch: (inout [UInt8]) throws -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try patch(&bytes)
        let out = folder.appendingPathComponent(name)
        try Data(bytes).write(to: out)
        return out.path
    }
}

extension Array where Element == UInt8 {
    /// Offsets of `text` (ASCII) in the bytes.
    func offsets(of text: String) -> [Int] {
        let needle = Array(text.utf8)
        guard count >= needle.count else { return [] }
        var found: [Int] = []
        for i in 0...(count - needle.count) where self[i] == needle[0] && Array(self[i..<i + needle.count]) == needle {
            found.append(i)
        }
        return found
    }
}
