import Foundation
import ImageIO
import XCTest
@testable import Video

/// Frames equal the `ffmpeg -ss t -i VIDEO -frames:v 1 -pix_fmt rgb24` frames, pixel for pixel.
final class VideoParityTests: XCTestCase {
    /// Compares the frame sampled at each time with the command line's (`filter`: its -vf, for the SAR cases).
    func assertParity(_ path: String, times: [Double], filter: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try VideoReader(path: path, name: path)
        var previous: RGBImage?
        for time in times {
            let frame = try reader.frame(at: time)
            // At or after the time, as `ffmpeg -ss` compares: the time rounded to the stream's time base (AVI's is
            // the frame duration, 1/25 s here).
            XCTAssertGreaterThanOrEqual(frame.time + 0.02 + 1e-9, time, file: file, line: line)
            let image = try frame.rgbImage()
            XCTAssertEqual(image.width, reader.info.width, file: file, line: line)
            XCTAssertEqual(image.height, reader.info.height, file: file, line: line)
            let expected = try TestVideos.cliFrame(path, at: VideoTime.text(time), filter: filter)
            XCTAssertEqual(expected.count, image.pixels.count, "\(path) at \(time)", file: file, line: line)
            XCTAssertTrue(Data(image.pixels) == expected, "\(path) at \(time): pixels differ from ffmpeg's", file: file, line: line)
            // Frames at different times differ (the grain moves), so equal pixels mean the same frame.
            if let previous { XCTAssertNotEqual(previous.pixels, image.pixels, file: file, line: line) }
            previous = image
        }
    }

    let times = [0, 0.3, 0.61, 1.0, 1.45, 1.76]

    func testCodecsAndContainers() throws {
        try TestVideos.requireFFmpeg()
        let cases: [(String, [String], String)] = [
            ("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"], "h264"),
            ("h264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"], "h264"),
            ("h264.ts", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"], "h264"),
            ("vp9.mkv", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"], "vp9"),
            ("vp8.webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"], "vp8"),
            ("av1.mp4", ["-c:v", "libaom-av1", "-cpu-used", "8", "-usage", "realtime", "-g", "12"], "av1"),
            ("hevc.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "log-level=none:keyint=12"], "hevc"),
            ("hevc10.mkv", ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=none:keyint=12"], "hevc"),
            ("mpeg4.avi", ["-c:v", "mpeg4", "-g", "12"], "mpeg4"),
            ("mjpeg-full-range.avi", ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"], "mjpeg"),
        ]
        for (name, codec, codecName) in cases {
            let path = try TestVideos.encoded(name, codec)
            let reader = try VideoReader(path: path, name: name)
            XCTAssertEqual(reader.info.codec, codecName, name)
            XCTAssertEqual(reader.info.width, 176, name)
            XCTAssertEqual(reader.info.height, 144, name)
            XCTAssertEqual(reader.info.rotation, 0, name)
            try assertParity(path, times: times)
        }
    }

    /// A video with an audio track (interleaved packets, discarded) and B-frames, in MP4 and Matroska.
    func testVideoWithAudio() throws {
        try TestVideos.requireFFmpeg()
        for name in ["with-audio.mp4", "with-audio.mkv"] {
            let path = try TestVideos.encoded(name, ["-c:v", "libx264", "-preset", "veryfast", "-g", "12", "-c:a", "aac"],
                                              extra: ["-f", "lavfi", "-i", "sine=d=2.5"])
            let reader = try VideoReader(path: path, name: name)
            XCTAssertEqual(reader.info.codec, "h264")
            try assertParity(path, times: [0, 0.5, 1.3, 1.75])
            let summary = try reader.forEachFrame(VideoSampling(mode: .every(seconds: 0.5))) { _ in }
            XCTAssertEqual(summary.frames, 4, name)
        }
    }

    func testEverySampledFrameMatchesTheCommandLineAtItsPrintedTime() throws {
        try TestVideos.requireFFmpeg()
        for name in ["h264.ts", "vp9.mkv"] {
            let path = try TestVideos.encoded(name, name == "h264.ts" ? ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"]
                                                : ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"])
            let reader = try VideoReader(path: path, name: name)
            var count = 0
            _ = try reader.forEachFrame(VideoSampling(mode: .every(seconds: 0.45))) { frame in
                let expected = try TestVideos.cliFrame(path, at: VideoTime.text(frame.time))
                XCTAssertTrue(Data(try frame.rgbImage().pixels) == expected, "\(name) at \(frame.time)")
                count += 1
            }
            XCTAssertEqual(count, 4, name)
        }
    }

    /// The display matrix turns the picture as the command line's autorotate does.
    func testRotation() throws {
        try TestVideos.requireFFmpeg()
        for angle in [90, 180, 270] {
            let name = "rotate\(angle).mp4"
            let path = try TestVideos.rotated(try TestVideos.encoded("h264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"]),
                                              angle, name: name)
            let reader = try VideoReader(path: path, name: name)
            // rotate=90 writes a counter-clockwise display matrix: the picture turns 270 degrees clockwise.
            XCTAssertEqual(reader.info.rotation, (360 - angle) % 360, name)
            XCTAssertEqual(reader.info.width, angle == 180 ? 176 : 144, name)
            XCTAssertEqual(reader.info.height, angle == 180 ? 144 : 176, name)
            try assertParity(path, times: [0, 0.7, 1.3])
        }
    }

    /// An angle that is no multiple of 90 degrees is not applied: a warning names the video.
    func testOtherAnglesAreAWarning() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.rotated(try TestVideos.encoded("h264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"]),
                                          45, name: "rotate45.mp4")
        let reader = try VideoReader(path: path, name: "rotate45.mp4")
        XCTAssertEqual(reader.info.rotation, 0)
        XCTAssertEqual(reader.info.width, 176)
        let summary = try reader.forEachFrame(VideoSampling(mode: .every(seconds: 1))) { XCTAssertEqual(try $0.rgbImage().width, 176) }
        XCTAssertEqual(summary.frames, 2)
        XCTAssertTrue(summary.warnings.contains { $0.hasPrefix("rotate45.mp4: the video's rotation of") && $0.contains("not applied") },
                      "\(summary.warnings)")
    }

    /// 4:2:2 (not square-subsampled): a 90-degree turn is applied to the RGB image after the conversion, where the
    /// command line converts to another format before its transpose: same size, chroma slightly different.
    func testRotationOf422Pictures() throws {
        try TestVideos.requireFFmpeg()
        let base = try TestVideos.encoded("mjpeg-422.mov", ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"])
        let path = try TestVideos.rotated(base, 90, name: "rotate90-422.mov")
        let reader = try VideoReader(path: path, name: "rotate90-422.mov")
        XCTAssertEqual(reader.info.rotation, 270)
        let image = try reader.frame(at: 0.5).rgbImage()
        XCTAssertEqual(image.width, 144)
        XCTAssertEqual(image.height, 176)
        let expected = [UInt8](try TestVideos.cliFrame(path, at: "0.5"))
        XCTAssertEqual(expected.count, image.pixels.count)
        let meanDifference = zip(expected, image.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(expected.count)
        XCTAssertLessThan(meanDifference, 3, "mean absolute difference \(meanDifference)")
        let unrotated = try VideoReader(path: base, name: "mjpeg-422.mov").frame(at: 0.5).rgbImage()
        XCTAssertEqual(image, unrotated.transposed(forOrientation: 8))
    }

    /// Non-square pixels are scaled to square in the conversion, as `ffmpeg -vf scale=W:H` with the display size.
    func testSampleAspectRatio() throws {
        try TestVideos.requireFFmpeg()
        for (sar, width, height) in [("2/1", 352, 144), ("1/2", 176, 288), ("4/3", 235, 144)] {
            let name = "sar-\(sar.replacingOccurrences(of: "/", with: "_")).mp4"
            let path = try TestVideos.encoded(name, ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"],
                                              extra: ["-vf", "setsar=\(sar)"])
            let reader = try VideoReader(path: path, name: name)
            XCTAssertEqual(reader.info.width, width, name)
            XCTAssertEqual(reader.info.height, height, name)
            try assertParity(path, times: [0, 0.9], filter: "scale=\(width):\(height)")
        }
        // Rotation and SAR together: the SAR is that of the rotated picture.
        let path = try TestVideos.rotated(try TestVideos.encoded("sar-2_1.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"],
                                                                 extra: ["-vf", "setsar=2/1"]), 90, name: "sar-rotate.mp4")
        let reader = try VideoReader(path: path, name: "sar-rotate.mp4")
        XCTAssertEqual(reader.info.width, 144)
        XCTAssertEqual(reader.info.height, 352)
        try assertParity(path, times: [0.5], filter: "scale=144:352")
    }

    func testFromMemoryEqualsFromPath() throws {
        try TestVideos.requireFFmpeg()
        for name in ["h264.mp4", "vp9.mkv", "h264.ts"] {
            let codec = name == "vp9.mkv" ? ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"]
                : ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"]
            let path = try TestVideos.encoded(name, codec)
            func frames(_ reader: VideoReader) throws -> [(Double, [UInt8])] {
                var out: [(Double, [UInt8])] = []
                _ = try reader.forEachFrame(VideoSampling(mode: .every(seconds: 0.7))) { out.append(($0.time, try $0.rgbImage().pixels)) }
                return out
            }
            let fromPath = try frames(VideoReader(path: path, name: name))
            let fromMemory = try frames(VideoReader(data: Data(contentsOf: URL(fileURLWithPath: path)), name: name))
            XCTAssertEqual(fromPath.count, 3, name)
            XCTAssertEqual(fromPath.map(\.0), fromMemory.map(\.0), name)
            XCTAssertTrue(zip(fromPath, fromMemory).allSatisfy { $0.1 == $1.1 }, name)
        }
    }

    func testNamesWithColonsAndNonVideos() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("h264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"])
        let odd = TestVideos.folder.appendingPathComponent("clip:1 ü.mov").path
        try? FileManager.default.removeItem(atPath: odd)
        try FileManager.default.copyItem(atPath: path, toPath: odd)
        XCTAssertEqual(try VideoReader(path: odd, name: "clip").info.codec, "h264")
        // A photo is not a video: refused before FFmpeg probes anything.
        XCTAssertThrowsError(try VideoReader(path: TestVideos.photos[0], name: "photo.jpg")) { error in
            guard case .cannotOpen("photo.jpg", _)? = error as? VideoError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try VideoReader(path: TestVideos.folder.appendingPathComponent("missing.mp4").path, name: "missing.mp4"))
    }

    func testMaxPixelsOnTheDisplaySize() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("sar-2_1.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"], extra: ["-vf", "setsar=2/1"])
        XCTAssertNoThrow(try VideoReader(path: path, name: "v", maxPixels: 352 * 144))
        XCTAssertThrowsError(try VideoReader(path: path, name: "v", maxPixels: 352 * 144 - 1)) { error in
            XCTAssertEqual(error as? VideoError, .tooLarge("v", width: 352, height: 144, maxPixels: 352 * 144 - 1))
        }
    }
}

/// The containers the tests make are recognised by content.
final class VideoSniffingTests: XCTestCase {
    func testGeneratedContainers() throws {
        try TestVideos.requireFFmpeg()
        let cases: [(String, [String], String)] = [
            ("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"], "MP4"),
            ("h264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"], "QuickTime"),
            ("h264.ts", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"], "MPEG-TS"),
            ("vp9.mkv", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"], "Matroska"),
            ("vp8.webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "12"], "WebM"),
            ("mpeg4.avi", ["-c:v", "mpeg4", "-g", "12"], "AVI"),
            ("h264.3gp", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"], "3GP"),
        ]
        for (name, codec, container) in cases {
            let path = try TestVideos.encoded(name, codec)
            XCTAssertEqual(VideoReader.sniffFile(path), container, name)
        }
        XCTAssertNil(VideoReader.sniffFile(TestVideos.photos[0]))
        let audio = try TestVideos.make("sniff-audio.m4a", ["-f", "lavfi", "-i", "sine=d=0.2", "-c:a", "aac"])
        XCTAssertNil(VideoReader.sniffFile(audio))
    }
}
