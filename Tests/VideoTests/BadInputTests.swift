import Foundation
import ImageIO
import XCTest
@testable import Video

/// Every bad input of the issue: a clear error or warning naming the file and where decoding stopped; the frames
/// before it kept; nothing loops, hangs or allocates from a header's claims.
final class BadInputTests: XCTestCase {
    /// Samples every `step` seconds: the frames' times, the summary, and the error.
    func sample(_ path: String, step: Double = 0.2, seeking: Bool = true) throws
        -> (times: [Double], images: [RGBImage], summary: VideoSummary, error: Error?, reader: VideoReader) {
        let reader = try VideoReader(path: path, name: (path as NSString).lastPathComponent)
        reader.seekingEnabled = seeking
        var times: [Double] = []
        var images: [RGBImage] = []
        let (summary, error) = reader.sample(VideoSampling(mode: .every(seconds: step))) { frame in
            times.append(frame.time)
            images.append(try frame.rgbImage())
        }
        return (times, images, summary, error, reader)
    }

    func openError(_ path: String) -> VideoError? {
        do {
            _ = try VideoReader(path: path, name: (path as NSString).lastPathComponent)
            return nil
        } catch { return error as? VideoError }
    }

    func base(_ ext: String, _ codec: [String] = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"]) throws -> String {
        try TestVideos.encoded("bad-base.\(ext)", codec + (ext == "mp4" ? ["-movflags", "+faststart"] : []))
    }

    let everyFifth = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6]

    func assertTimes(_ times: [Double], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(times.count, expected.count, "\(times)", file: file, line: line)
        for (a, b) in zip(times, expected) { XCTAssertEqual(a, b, accuracy: 1e-6, file: file, line: line) }
    }

    func testTruncatedMP4StopsWithTheTimeAndKeepsTheFramesBefore() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.copy(try base("mp4"), to: "truncated.mp4") { $0 = Array($0.prefix($0.count * 6 / 10)) }
        let result = try sample(path)
        XCTAssertGreaterThanOrEqual(result.times.count, 4)
        assertTimes(result.times, Array(everyFifth.prefix(result.times.count)))
        guard case .decodingStopped(let name, let time, let reason)? = result.error as? VideoError else {
            return XCTFail("expected decodingStopped, got \(String(describing: result.error))")
        }
        XCTAssertEqual(name, "truncated.mp4")
        XCTAssertGreaterThanOrEqual(time ?? -1, result.times.last!)
        XCTAssertLessThan(time ?? 99, 1.8)
        XCTAssertTrue(reason.contains("truncated"), reason)
        XCTAssertTrue("\(result.error!)".contains("truncated.mp4: decoding stopped after"))
    }

    /// An MP4 (index at the front) cut a few bytes before its end: the last sample is read short without a read
    /// error; that is an error naming the frame, not a silent loss of it.
    func testMP4CutInsideItsLastFrame() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.copy(try base("mp4"), to: "cut-last.mp4") { $0 = Array($0.dropLast(40)) }
        let all = try TestVideos.frameTimes(try base("mp4"))
        let result = try sample(path, step: 0.01)
        guard case .decodingStopped(let name, _, let reason)? = result.error as? VideoError else {
            return XCTFail("expected decodingStopped, got \(String(describing: result.error))")
        }
        XCTAssertEqual(name, "cut-last.mp4")
        XCTAssertTrue(reason.contains("ends inside the frame at"), reason)
        XCTAssertTrue(reason.contains("truncated"), reason)
        // Every frame but the cut one was delivered.
        XCTAssertEqual(result.times.count, all.count - 1, "\(result.times)")
        // The whole file is no error.
        XCTAssertNil(try sample(try base("mp4"), step: 0.01).error)
        // Sample times of 0 (every sample at one decoding time) in a whole file: packets are matched to their index
        // entries by position, so no frame is taken for cut.
        let flat = try TestVideos.copy(try base("mp4"), to: "flat-times.mp4") { bytes in
            let stts = Array("stts".utf8)
            guard let i = bytes.indices.first(where: { Array(bytes[$0..<min($0 + 4, bytes.count)]) == stts }) else {
                return XCTFail("no stts box")
            }
            for k in 0..<4 { bytes[i + 16 + k] = 0 }
        }
        let error = try sample(flat, step: 0.01).error
        XCTAssertFalse("\(String(describing: error))".contains("ends inside the frame"), "\(String(describing: error))")
    }

    func testTruncatedMatroskaAndTransportStream() throws {
        try TestVideos.requireFFmpeg()
        let mkv = try TestVideos.copy(try base("mkv"), to: "truncated.mkv") { $0 = Array($0.prefix($0.count * 6 / 10)) }
        let a = try sample(mkv)
        XCTAssertGreaterThanOrEqual(a.times.count, 4)
        XCTAssertNil(a.error)
        // Nothing but the stated duration tells: a warning with the time of the last frame.
        XCTAssertTrue(a.summary.warnings.contains { $0.hasPrefix("truncated.mkv: the container states a duration of 1.800 s") },
                      "\(a.summary.warnings)")

        let ts = try TestVideos.copy(try base("ts"), to: "truncated.ts") { $0 = Array($0.prefix($0.count * 6 / 10)) }
        let b = try sample(ts)
        XCTAssertGreaterThanOrEqual(b.times.count, 4)
        guard case .decodingStopped("truncated.ts", let time?, _)? = b.error as? VideoError else {
            return XCTFail("expected decodingStopped, got \(String(describing: b.error))")
        }
        XCTAssertGreaterThanOrEqual(time, b.times.last!)
    }

    func testCorruptBytesAreWarningsWithTheirTimeAndDecodingGoesOn() throws {
        try TestVideos.requireFFmpeg()
        for (ext, codec) in [("ts", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"]), ("avi", ["-c:v", "mpeg4", "-g", "12"])] {
            let path = try TestVideos.copy(try base(ext, codec), to: "corrupt.\(ext)") { bytes in
                let start = bytes.count / 2
                for i in start..<min(bytes.count, start + 4000) { bytes[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 13) }
            }
            let result = try sample(path)
            assertTimes(result.times, everyFifth)
            if let error = result.error {
                // The AVI demuxer may lose the packet after the damage: the index then lists more than was read.
                guard case .decodingStopped(_, let time?, let reason)? = error as? VideoError else { return XCTFail("\(error)") }
                XCTAssertGreaterThanOrEqual(time, 1.6)
                XCTAssertTrue(reason.contains("corrupt"), reason)
            }
            XCTAssertTrue(result.summary.warnings.contains { $0.hasPrefix("corrupt.\(ext): ") && $0.contains("decoded with errors, the first at") },
                          "\(result.summary.warnings)")
        }
    }

    func testAudioOnlyFiles() throws {
        try TestVideos.requireFFmpeg()
        let mp4 = try TestVideos.make("audio-only.mp4", ["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac"])
        XCTAssertEqual(openError(mp4), .noVideoStream("audio-only.mp4"))
        let mkv = try TestVideos.make("audio-only.mkv", ["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "libvorbis"])
        XCTAssertEqual(openError(mkv), .noVideoStream("audio-only.mkv"))
        XCTAssertEqual(openError(mkv)?.description, "audio-only.mkv: no video stream (an audio-only file?)")
    }

    /// The same errors for videos in memory (downloads), whose reading buffers are released once.
    func testErrorsFromMemory() throws {
        try TestVideos.requireFFmpeg()
        let audio = try TestVideos.make("audio-only.mp4", ["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac"])
        let tag = try TestVideos.copy(try base("avi", ["-c:v", "mpeg4", "-g", "12"]), to: "unknown-tag-memory.avi") { bytes in
            for o in bytes.offsets(of: "FMP4") { bytes.replaceSubrange(o..<o + 4, with: Array("ZZZZ".utf8)) }
        }
        let truncated = try TestVideos.copy(try base("mp4"), to: "truncated-memory.mp4") { $0 = Array($0.prefix($0.count * 6 / 10)) }
        for _ in 0..<3 {
            XCTAssertThrowsError(try VideoReader(data: Data(contentsOf: URL(fileURLWithPath: audio)), name: "a")) {
                XCTAssertEqual($0 as? VideoError, .noVideoStream("a"))
            }
            XCTAssertThrowsError(try VideoReader(data: Data(contentsOf: URL(fileURLWithPath: tag)), name: "t")) {
                XCTAssertEqual($0 as? VideoError, .codecUnavailable("t", codec: "with tag ZZZZ"))
            }
            XCTAssertThrowsError(try VideoReader(data: Data("not a video".utf8), name: "x")) {
                guard case .cannotOpen("x", _)? = $0 as? VideoError else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try VideoReader(data: Data([0, 0, 0, 0x20]) + Data("ftypisom".utf8) + Data(count: 20), name: "h")) {
                guard case .cannotOpen("h", _)? = $0 as? VideoError else { return XCTFail("\($0)") }
            }
            let reader = try VideoReader(data: Data(contentsOf: URL(fileURLWithPath: truncated)), name: "cut")
            XCTAssertThrowsError(try reader.forEachFrame(VideoSampling()) { _ in }) {
                guard case .decodingStopped("cut", _, _)? = $0 as? VideoError else { return XCTFail("\($0)") }
            }
        }
    }

    func testUnknownCodecTag() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.copy(try base("avi", ["-c:v", "mpeg4", "-g", "12"]), to: "unknown-tag.avi") { bytes in
            let found = bytes.offsets(of: "FMP4")
            XCTAssertFalse(found.isEmpty)
            for o in found { bytes.replaceSubrange(o..<o + 4, with: Array("ZZZZ".utf8)) }
        }
        XCTAssertEqual(openError(path), .codecUnavailable("unknown-tag.avi", codec: "with tag ZZZZ"))
    }

    /// A Matroska codec id FFmpeg does not know ("V_MPEG4/ISO/XYZ"): no fourcc to show, and none made up of zeros.
    func testUnknownMatroskaCodecId() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.copy(try base("mkv"), to: "unknown-codec.mkv") { bytes in
            let found = bytes.offsets(of: "V_MPEG4/ISO/AVC")
            XCTAssertEqual(found.count, 1)
            for o in found { bytes.replaceSubrange(o..<o + 15, with: Array("V_MPEG4/ISO/XYZ".utf8)) }
        }
        let error = openError(path)
        XCTAssertEqual(error, .codecUnavailable("unknown-codec.mkv", codec: "(a codec id FFmpeg does not know)"))
        XCTAssertFalse(error?.description.contains("[0]") ?? true, "\(String(describing: error))")
    }

    func testZeroFramesAndNoMedia() throws {
        try TestVideos.requireFFmpeg()
        let avi = try TestVideos.make("zero-frames.avi", ["-i", try TestVideos.source(), "-frames:v", "0", "-c:v", "mpeg4"])
        let result = try sample(avi)
        XCTAssertTrue(result.times.isEmpty)
        guard case .noFrames("zero-frames.avi", _)? = result.error as? VideoError else {
            return XCTFail("expected noFrames, got \(String(describing: result.error))")
        }
        // A Matroska header without any cluster, and an MP4 cut inside its first box: cannot be read.
        let mkv = try TestVideos.copy(try base("mkv"), to: "header-only.mkv") { bytes in
            let cluster = (1..<bytes.count - 4).first {
                bytes[$0] == 0x1F && bytes[$0 + 1] == 0x43 && bytes[$0 + 2] == 0xB6 && bytes[$0 + 3] == 0x75 && bytes[$0 - 1] != 0x84
            }
            bytes = Array(bytes.prefix(cluster ?? 100))
        }
        XCTAssertNotNil(openError(mkv))
        let cut = try TestVideos.copy(try base("mp4"), to: "cut-header.mp4") { $0 = Array($0.prefix(40)) }
        guard case .cannotOpen("cut-header.mp4", _)? = openError(cut) else { return XCTFail("\(String(describing: openError(cut)))") }
    }

    /// Key frames listed where there are none (MP4 `stss` shifted by 6 samples): the seek lands on a frame that is no
    /// key frame, and decoding falls back to sequential; the frames are those of the intact file.
    func testBrokenIndexFallsBackToSequentialDecoding() throws {
        try TestVideos.requireFFmpeg()
        let good = try base("mp4")
        let broken = try TestVideos.copy(good, to: "broken-index.mp4") { bytes in
            guard let stss = bytes.offsets(of: "stss").first else { return XCTFail("no stss box") }
            // version/flags (4), count (4), then 32-bit sample numbers 1, 13, 25, 37.
            let count = Int(bytes[stss + 8]) << 24 | Int(bytes[stss + 9]) << 16 | Int(bytes[stss + 10]) << 8 | Int(bytes[stss + 11])
            XCTAssertEqual(count, 4)
            for i in 1..<count {
                let o = stss + 12 + 4 * i
                let n = (Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])) - 6
                bytes[o + 2] = UInt8(n >> 8)
                bytes[o + 3] = UInt8(n & 0xFF)
            }
        }
        let expected = try sample(good, step: 0.9, seeking: false)
        let result = try sample(broken, step: 0.9)
        XCTAssertNil(result.error)
        assertTimes(result.times, [0, 0.92])
        assertTimes(result.times, expected.times)
        XCTAssertEqual(result.images, expected.images)
        XCTAssertGreaterThanOrEqual(result.reader.lastFallbacks, 1)
        // Every-0.5 sampling over the broken index also gives the intact file's frames.
        let dense = try sample(broken, step: 0.5)
        let denseExpected = try sample(good, step: 0.5, seeking: false)
        assertTimes(dense.times, denseExpected.times)
        XCTAssertEqual(dense.images, denseExpected.images)
    }

    /// Headers claiming 10^9 frames (AVI) or a duration of years (MP4): nothing is allocated from them; the frames
    /// there are come out; the duration claim is a warning.
    func testAbsurdClaims() throws {
        try TestVideos.requireFFmpeg()
        let avi = try TestVideos.copy(try base("avi", ["-c:v", "mpeg4", "-g", "12"]), to: "claims.avi") { bytes in
            func put(_ value: UInt32, at o: Int) {
                for k in 0..<4 { bytes[o + k] = UInt8((value >> (8 * UInt32(k))) & 0xFF) }
            }
            guard let avih = bytes.offsets(of: "avih").first, let strh = bytes.offsets(of: "strh").first else {
                return XCTFail("no avih/strh")
            }
            put(1_000_000_000, at: avih + 8 + 16)   // dwTotalFrames
            put(1_000_000_000, at: strh + 8 + 32)   // dwLength
        }
        let a = try sample(avi)
        XCTAssertNil(a.error)
        assertTimes(a.times, everyFifth)

        let mp4 = try TestVideos.copy(try base("mp4"), to: "claims.mp4") { bytes in
            // mvhd and mdhd (version 0): duration at +24 (after size, type, version/flags, times, timescale).
            for box in ["mvhd", "mdhd"] {
                for o in bytes.offsets(of: box) {
                    for k in 0..<4 { bytes[o + 20 + k] = [0x7F, 0xFF, 0xFF, 0x00][k] }
                }
            }
        }
        let m = try sample(mp4)
        XCTAssertNil(m.error)
        assertTimes(m.times, everyFifth)
        XCTAssertGreaterThan(m.reader.info.duration ?? 0, 1000)
        XCTAssertTrue(m.summary.warnings.contains { $0.hasPrefix("claims.mp4: the container states a duration of") },
                      "\(m.summary.warnings)")
    }

    /// A picture larger than the container says (a VP8 key frame, an H.264 SPS, ... carry their own size, and may
    /// change it mid-stream) is not decoded far over the limit: only the container's size was checked before, and a
    /// 7 KB WebM whose key frames claimed 11584x13409 (155 megapixels) took 34 s of CPU and 1.3 GB under ASan with a
    /// limit of 4 megapixels (found by the `video` fuzzer: Tests/Fuzz/Regressions/video/vp8-key-frames-over-the-limit).
    /// Here a WebM whose container says 64x48 and whose second half is 320x240 (stream copy through the concat
    /// demuxer).
    func testPicturesLargerThanTheContainerSays() throws {
        try TestVideos.requireFFmpeg()
        let vp8 = ["-c:v", "libvpx", "-b:v", "200k", "-g", "5", "-auto-alt-ref", "0"]
        let small = try TestVideos.make("resize-a.webm", ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1"] + vp8)
        let large = try TestVideos.make("resize-b.webm", ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=1"] + vp8)
        let list = TestVideos.folder.appendingPathComponent("resize.txt")
        try "file '\(small)'\nfile '\(large)'\n".write(to: list, atomically: true, encoding: .utf8)
        let path = try TestVideos.make("resize.webm", ["-f", "concat", "-safe", "0", "-i", list.path, "-c", "copy"])

        func run(maxPixels: Int) throws -> (sizes: [String], summary: VideoSummary, error: Error?, decoded: Int) {
            let reader = try VideoReader(path: path, name: "resize.webm", maxPixels: maxPixels)
            XCTAssertEqual(reader.info.width * reader.info.height, 64 * 48)
            var sizes: [String] = []
            let (summary, error) = reader.sample(VideoSampling(mode: .every(seconds: 0.1))) { frame in
                let image = try frame.rgbImage()
                sizes.append("\(image.width)x\(image.height)")
            }
            return (sizes, summary, error, reader.lastDecodedFrames)
        }
        // At the limit: every frame, both sizes.
        let all = try run(maxPixels: 320 * 240)
        XCTAssertNil(all.error)
        XCTAssertEqual(all.sizes, Array(repeating: "64x48", count: 10) + Array(repeating: "320x240", count: 10))
        XCTAssertEqual(all.summary.warnings, [])
        XCTAssertEqual(all.decoded, 20)
        // One pixel under: the frames before are kept, the first large one is refused with its size.
        let under = try run(maxPixels: 320 * 240 - 1)
        XCTAssertEqual(under.sizes, Array(repeating: "64x48", count: 10))
        XCTAssertEqual(under.error as? VideoError, .tooLarge("resize.webm", width: 320, height: 240, maxPixels: 320 * 240 - 1))
        // Far under (the decoder's own limit is twice the limit): the large pictures are not decoded at all, and
        // what is said names the limit.
        let far = try run(maxPixels: 64 * 48)
        XCTAssertEqual(far.sizes, Array(repeating: "64x48", count: 10))
        XCTAssertEqual(far.decoded, 10)
        let said = far.summary.warnings + [far.error.map { "\($0)" } ?? ""]
        XCTAssertTrue(said.contains { $0.hasPrefix("resize.webm: ") && $0.contains("a picture over the limit of 3072 pixels") },
                      "\(said)")
    }

    /// A damaged AVI whose video decoder cannot be opened (no valid picture size or pixel format): the error names
    /// the codec, read before the container is closed (it used to be read from the freed stream; found by the
    /// `video` fuzzer: Tests/Fuzz/Regressions/video/decoder-open-fails).
    func testDecoderThatCannotBeOpenedIsNamed() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Regressions/video/decoder-open-fails")
        XCTAssertThrowsError(try VideoReader(data: Data(contentsOf: file), name: "raw.avi")) {
            guard case .cannotOpen("raw.avi", let reason)? = $0 as? VideoError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.hasPrefix("the ") && reason.contains(" decoder cannot be opened: "), reason)
        }
    }
}
