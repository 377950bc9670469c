import Foundation
import XCTest

/// Tiny test videos made with Debian's `ffmpeg` command from the fixture photos, in a temporary folder. Tests that
/// need them are skipped when `ffmpeg` is missing, and fail instead under `ZEROSHOT_CI=1`.
enum TestVideos {
    /// The `ffmpeg` command.
    static func ffmpeg() throws -> URL {
        let candidates = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"]
        if let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return URL(fileURLWithPath: path)
        }
        let message = "ffmpeg is not installed (apt-get install ffmpeg); it makes the test videos"
        if ProcessInfo.processInfo.environment["ZEROSHOT_CI"] == "1" {
            XCTFail("ZEROSHOT_CI=1: " + message)
            throw CocoaError(.fileNoSuchFile)
        }
        throw XCTSkip(message)
    }

    /// Runs `ffmpeg` quietly with `arguments`; throws with its standard error when it fails.
    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = try ffmpeg()
        process.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "ffmpeg", code: Int(process.terminationStatus), userInfo: [
                NSLocalizedDescriptionKey: "ffmpeg \(arguments.joined(separator: " ")): " + String(decoding: message, as: UTF8.self),
            ])
        }
    }

    /// A video showing each photo for its number of seconds, one after the other (cuts at the running sums), at
    /// `fps` frames per second and `width` x `height` pixels. `codec` libx264 with `-qp 0` is lossless in its
    /// YUV 4:2:0 pixels: the frames of one photo decode to the same pixels, so they classify alike.
    static func make(_ name: String, in directory: URL, photos: [(URL, Double)], width: Int = 64, height: Int = 48,
                     fps: Int = 10, codec: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"],
                     extra: [String] = []) throws -> URL {
        let output = directory.appendingPathComponent(name)
        var arguments: [String] = []
        var filters: [String] = []
        for (i, (photo, seconds)) in photos.enumerated() {
            arguments += ["-loop", "1", "-framerate", "\(fps)", "-t", "\(seconds)", "-i", photo.path]
            filters.append("[\(i):v]scale=\(width):\(height),setsar=1,fps=\(fps),format=yuv420p[v\(i)]")
        }
        let inputs = photos.indices.map { "[v\($0)]" }.joined()
        filters.append("\(inputs)concat=n=\(photos.count):v=1:a=0[out]")
        arguments += ["-filter_complex", filters.joined(separator: ";"), "-map", "[out]"] + codec + extra
            + ["-pix_fmt", "yuv420p", output.path]
        try run(arguments)
        return output
    }

    /// The frame `ffmpeg -ss time -i video -frames:v 1` gives, as an RGB PNG.
    static func extractFrame(_ video: URL, time: String, to output: URL) throws {
        try run(["-ss", time, "-i", video.path, "-frames:v", "1", "-pix_fmt", "rgb24", output.path])
    }

    /// A fresh temporary folder, removed at the end of `test`.
    static func temporaryDirectory(for test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-video-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
