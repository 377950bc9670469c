import Foundation
import ImageIO
import XCTest
@testable import Video

/// Which frames `--every`, `--scenes`, `--max-gap` and `--max-frames` take, and that seeking does not change them.
final class SamplingBehaviourTests: XCTestCase {
    func frames(_ path: String, _ sampling: VideoSampling, seeking: Bool = true)
        throws -> (times: [Double], pixels: [[UInt8]], summary: VideoSummary, reader: VideoReader) {
        let reader = try VideoReader(path: path, name: (path as NSString).lastPathComponent)
        reader.seekingEnabled = seeking
        var times: [Double] = []
        var pixels: [[UInt8]] = []
        let summary = try reader.forEachFrame(sampling) { frame in
            times.append(frame.time)
            pixels.append(try frame.rgbImage().pixels)
        }
        return (times, pixels, summary, reader)
    }

    /// For each target k·step: the first frame at or after it (ffprobe's times), each frame once.
    func expectedTimes(_ all: [Double], step: Double) -> [Double] {
        var out: [Double] = []
        var k = 0.0
        while let frame = all.first(where: { $0 >= k * step - 1e-7 }) {
            if out.last != frame { out.append(frame) }
            k = (frame / step + 1e-7).rounded(.down) + 1
        }
        return out
    }

    func assertTimes(_ a: [Double], _ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 2e-6, "\(a) vs \(b)", file: file, line: line) }
    }

    func testEveryTargetsAt29_97FramesPerSecond() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.make("ntsc.mp4", ["-i", try TestVideos.source(seconds: 0.7, rate: "30000/1001"),
                                                    "-c:v", "libx264", "-preset", "veryfast", "-g", "15"])
        let all = try TestVideos.frameTimes(path)
        XCTAssertGreaterThan(all.count, 60)
        for step in [0.5, 1.001, 1.0 / 3, 0.01] {
            let result = try frames(path, VideoSampling(mode: .every(seconds: step)))
            assertTimes(result.times, expectedTimes(all, step: step))
            XCTAssertNil(result.summary.stoppedAtMaxFrames)
        }
        // 1.001 s is exactly frame 30 (pts 30030 / 30000): taken, not the one after.
        let exact = try frames(path, VideoSampling(mode: .every(seconds: 1.001)))
        assertTimes(exact.times, [0, 1.001, 2.002])
        XCTAssertEqual(VideoTime.text(exact.times[1]), "1.001")
        // Denser than the frames: every frame exactly once.
        assertTimes(try frames(path, VideoSampling(mode: .every(seconds: 0.01))).times, all)
    }

    /// A step so small that time / step overflows the target index (1e-300 s) still takes every frame once, with no
    /// claim that the file ends early.
    func testVanishingStepTakesEveryFrame() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("tiny-step.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"])
        let all = try TestVideos.frameTimes(path)
        for step in [1e-300, 5e-324, 1e-9] {
            let result = try frames(path, VideoSampling(mode: .every(seconds: step)))
            assertTimes(result.times, all)
            XCTAssertEqual(result.summary.warnings, [], "every \(step)")
        }
    }

    func testMaxFramesTakesTheFirstSamples() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"])
        let result = try frames(path, VideoSampling(mode: .every(seconds: 0.25), maxFrames: 3))
        assertTimes(result.times, [0, 0.28, 0.52])
        XCTAssertEqual(result.summary.frames, 3)
        XCTAssertEqual(result.summary.stoppedAtMaxFrames ?? -1, 0.52, accuracy: 1e-9)
        let all = try frames(path, VideoSampling(mode: .every(seconds: 0.25), maxFrames: 100))
        XCTAssertEqual(all.times.count, 8)
        XCTAssertNil(all.summary.stoppedAtMaxFrames)
    }

    /// Sparse targets seek to the key frame before each target; dense ones decode on; both give the frames of plain
    /// sequential decoding (B-frames, long GOPs, MP4 and Matroska indexes).
    func testSparseAndDenseDecodingGiveTheSameFrames() throws {
        try TestVideos.requireFFmpeg()
        let long = try TestVideos.source(seconds: 2.0)
        let cases = [
            ("long.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "25"]),
            ("long.mkv", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "25"]),
            ("long.ts", ["-c:v", "libx264", "-preset", "veryfast", "-g", "25"]),
        ]
        for (name, codec) in cases {
            let path = try TestVideos.make(name, ["-i", long] + codec)
            for step in [1.7, 0.9, 0.3] {
                let sampling = VideoSampling(mode: .every(seconds: step))
                let sparse = try frames(path, sampling)
                let sequential = try frames(path, sampling, seeking: false)
                assertTimes(sparse.times, sequential.times)
                XCTAssertTrue(sparse.pixels == sequential.pixels, "\(name) every \(step)")
                XCTAssertEqual(sequential.reader.lastSeeks, 0)
                XCTAssertEqual(sparse.reader.lastFallbacks, 0, name)
                // MP4's sample tables index every key frame (FFmpeg's Matroska cues here hold one entry, a transport
                // stream has no index: those decode sequentially).
                if step == 1.7 && name.hasSuffix(".mp4") {
                    XCTAssertGreaterThan(sparse.reader.lastSeeks, 0, "\(name): sparse samples seek")
                }
                if step == 0.3 { XCTAssertEqual(sparse.reader.lastSeeks, 0, "\(name): dense samples decode on") }
            }
        }
    }

    /// Outside --scenes, non-reference frames before the next target are not decoded (B-frames here); --scenes
    /// decodes every frame.
    func testNonReferenceFramesBeforeATargetAreSkipped() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.make("long.mp4", ["-i", try TestVideos.source(seconds: 2.0), "-c:v", "libx264", "-preset", "veryfast", "-g", "25"])
        let total = try TestVideos.frameTimes(path).count
        let every = try frames(path, VideoSampling(mode: .every(seconds: 1)), seeking: false)
        XCTAssertEqual(every.times.count, 6)
        XCTAssertLessThan(every.reader.lastDecodedFrames, total * 3 / 4, "non-reference frames were decoded")
        let scenes = try frames(path, VideoSampling(mode: .scenes(threshold: 0.3, maxGap: 10)))
        XCTAssertEqual(scenes.reader.lastDecodedFrames, total)
    }

    /// Scene changes as FFmpeg's `select` filter scores them: the frames `select='gt(scene,T)'` passes, plus the
    /// first frame.
    func testScenesMatchFFmpegSelect() throws {
        try TestVideos.requireFFmpeg()
        for (name, codec) in [("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"]),
                              ("hevc10.mkv", ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                                              "-x265-params", "log-level=none:keyint=12"])] {
            let path = try TestVideos.encoded(name, codec)
            for threshold in [0.3, 0.05, 0.02, 0.012] {
                let result = try frames(path, VideoSampling(mode: .scenes(threshold: threshold, maxGap: 1000)))
                let expected = try TestVideos.cliSceneTimes(path, threshold: threshold)
                XCTAssertEqual(result.times.first, 0)
                assertTimes(Array(result.times.dropFirst()), expected)
                if threshold == 0.3 { assertTimes(result.times, [0, 0.6, 1.2]) }
            }
        }
    }

    func testMaxGapTakesAFrameWhenNothingChanges() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "12"])
        let result = try frames(path, VideoSampling(mode: .scenes(threshold: 1, maxGap: 0.5)))
        assertTimes(result.times, [0, 0.52, 1.04, 1.56])
        let withCuts = try frames(path, VideoSampling(mode: .scenes(threshold: 0.3, maxGap: 0.5)))
        assertTimes(withCuts.times, [0, 0.52, 0.6, 1.12, 1.2, 1.72])
        let limited = try frames(path, VideoSampling(mode: .scenes(threshold: 0.3, maxGap: 0.5), maxFrames: 2))
        assertTimes(limited.times, [0, 0.52])
        XCTAssertEqual(limited.summary.stoppedAtMaxFrames ?? 0, 0.52, accuracy: 1e-9)
    }
}
