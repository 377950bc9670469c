import CFFmpeg
import Foundation
import ImageIO
import Inputs

/// What a video's container and stream say.
public struct VideoInfo: Sendable, Equatable {
    /// Seconds, as the container states it (nil when it states none; not checked against the frames).
    public var duration: Double?
    /// The size of `VideoFrame.rgbImage()`: after rotation and the sample aspect ratio.
    public var width: Int
    public var height: Int
    /// FFmpeg's name of the codec ("h264", "hevc", "vp9", "av1", "mpeg4").
    public var codec: String
    /// Average frames per second as the container states it (nil when unknown).
    public var frameRate: Double?
    /// Degrees clockwise applied to the coded picture (0, 90, 180, 270) from the display matrix.
    public var rotation: Int

    public init(duration: Double?, width: Int, height: Int, codec: String, frameRate: Double?, rotation: Int) {
        self.duration = duration
        self.width = width
        self.height = height
        self.codec = codec
        self.frameRate = frameRate
        self.rotation = rotation
    }
}

/// What sampling a whole video found besides its frames.
public struct VideoSummary: Sendable, Equatable {
    /// Frames delivered.
    public var frames: Int
    /// Set when `VideoSampling.maxFrames` cut sampling short: the time of the last frame taken.
    public var stoppedAtMaxFrames: Double?
    /// Things worth a warning that did not stop decoding (a rotation that is not a multiple of 90 degrees, a stated
    /// duration far beyond the last frame, packets the decoder rejected and skipped), each naming the input.
    public var warnings: [String]
    /// Set when the stated duration lies far beyond the last frame decoded (one of the `warnings`): the container's
    /// claim is not backed by frames (a truncated file, or a wrong header).
    public var durationUnconfirmed: Bool
    /// For a video read from a download (`MediaItems`' URLs): its size in bytes and SHA-256 (lowercase hex), so that
    /// a caller recording it (the image index) needs no second download. Nil for a local file.
    public var download: (size: Int, sha256: String)?

    public static func == (a: VideoSummary, b: VideoSummary) -> Bool {
        a.frames == b.frames && a.stoppedAtMaxFrames == b.stoppedAtMaxFrames && a.warnings == b.warnings
            && a.durationUnconfirmed == b.durationUnconfirmed && a.download?.size == b.download?.size
            && a.download?.sha256 == b.download?.sha256
    }

    public init(frames: Int = 0, stoppedAtMaxFrames: Double? = nil, warnings: [String] = [],
                durationUnconfirmed: Bool = false) {
        self.frames = frames
        self.stoppedAtMaxFrames = stoppedAtMaxFrames
        self.warnings = warnings
        self.durationUnconfirmed = durationUnconfirmed
    }
}

/// Reads one video through FFmpeg's libraries (libavformat, libavcodec, libswscale).
///
/// - The container's demuxer is forced from the sniffed content (`ContentKind.video`): MP4/MOV/3GP ("mov"),
///   Matroska/WebM ("matroska"), AVI ("avi"), MPEG-TS/M2TS ("mpegts"); input that is none of these is refused.
///   A file is opened as "file:" + path (names with ":" work) with FFmpeg's protocol whitelist "file"; bytes in
///   memory through a custom AVIOContext (read and seek) that opens nothing else.
/// - The video stream is FFmpeg's best one (`av_find_best_stream`), never an attached cover picture; the decoder
///   runs frame and slice threads, one per core.
/// - Times are seconds from the container's start time: (pts − start) with pts the frame's best-effort timestamp.
/// - Nothing is allocated from the counts or durations a container states.
/// - Frames are those `ffmpeg -ss t -i VIDEO` gives (see `VideoSampling.Mode.every`, `FrameConversion`), decoded
///   from a key frame, never from where a seek happens to land. (In an MPEG-TS file with B-frames the command line's
///   input seeking lands on frames that are no key frames and outputs damaged or later frames; there the frames
///   equal output seeking, `ffmpeg -i VIDEO -ss t`, which decodes from the start.)
public final class VideoReader {
    /// The input as errors name it.
    public let name: String
    public let info: VideoInfo
    let maxPixels: Int
    /// Opens the container and the decoder afresh (a pass after the first, a fallback to sequential decoding).
    private let openVideo: () throws -> DemuxedVideo
    private var unused: DemuxedVideo?
    private let rotation: Int
    private let openWarnings: [String]
    /// The video stream's own duration in seconds (for the "stated duration" check), else the container's.
    private let streamDuration: Double?

    /// Whether sparse samples seek through the index (tests switch it off to compare with dense decoding).
    var seekingEnabled = true
    /// Seeks, fallbacks to sequential decoding and frames decoded in the last pass (for tests).
    private(set) var lastSeeks = 0
    private(set) var lastFallbacks = 0
    private(set) var lastDecodedFrames = 0

    /// Opens a local video file (never read whole into memory).
    /// - Parameters:
    ///   - container: the container `ContentKind.sniff` named (nil: the file's first bytes are sniffed here).
    ///   - maxPixels: the largest frame, width x height: a video whose stream states a larger size is refused
    ///     (`.tooLarge`); a later picture over it (its own header may give another size) is not decoded, and is
    ///     skipped with a warning or a `.decodingStopped` reason that names the limit.
    /// - Throws: `VideoError` (`.cannotOpen`, `.noVideoStream`, `.codecUnavailable`, `.tooLarge`).
    public convenience init(path: String, name: String, container: String? = nil,
                            maxPixels: Int = ImageDecoder.defaultMaxPixels) throws {
        let kind = container ?? Self.sniffFile(path)
        guard let kind, let demuxer = VideoContainer.demuxer(for: kind) else {
            throw VideoError.cannotOpen(name, reason: Self.notAVideo)
        }
        try self.init(source: .path(path, demuxer: demuxer), name: name, maxPixels: maxPixels)
    }

    /// Opens a video held in memory (a download); `container` and `maxPixels` as in `init(path:name:container:maxPixels:)`.
    /// - Throws: `VideoError` (`.cannotOpen`, `.noVideoStream`, `.codecUnavailable`, `.tooLarge`).
    public convenience init(data: Data, name: String, container: String? = nil,
                            maxPixels: Int = ImageDecoder.defaultMaxPixels) throws {
        var kind = container
        if kind == nil, case .video(let c) = data.prefix(ContentKind.headerLength).withUnsafeBytes({ ContentKind.sniff($0) }) {
            kind = c
        }
        guard let kind, let demuxer = VideoContainer.demuxer(for: kind) else {
            throw VideoError.cannotOpen(name, reason: Self.notAVideo)
        }
        try self.init(source: .memory(MemoryBuffer(data), demuxer: demuxer), name: name, maxPixels: maxPixels)
    }

    static let notAVideo = "not a video container this build reads (MP4/MOV, Matroska/WebM, AVI, MPEG-TS)"

    init(source: VideoSource, name: String, maxPixels: Int) throws {
        self.name = name
        self.maxPixels = maxPixels
        openVideo = { try DemuxedVideo(source, name: name, maxPixels: maxPixels) }
        let video = try openVideo()
        let format = video.format!
        let st = video.stream
        let parameters = st.pointee.codecpar.pointee
        var warnings: [String] = []
        // The command line's autorotate angle.
        var angle = 0
        if let matrix = zs_display_matrix(st) {
            var theta = -av_display_rotation_get(matrix).rounded()
            if theta.isFinite {
                theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
                if abs(theta - 90) < 1 { angle = 90 }
                else if abs(theta - 180) < 1 { angle = 180 }
                else if abs(theta - 270) < 1 { angle = 270 }
                else if abs(theta) > 1 {
                    warnings.append("\(name): the video's rotation of \(Int(theta)) degrees is not applied "
                                    + "(only multiples of 90 degrees are)")
                }
            }
        }
        rotation = angle
        let sar = av_guess_sample_aspect_ratio(format, st, nil)
        let conversion = FrameConversion(rotation: angle, sampleAspect: sar, name: name)
        let size = conversion.displaySize(width: Int(parameters.width), height: Int(parameters.height))
        var duration: Double? = nil
        if format.pointee.duration != FF.noPTS && format.pointee.duration > 0 {
            duration = Double(format.pointee.duration) / 1e6
        }
        var ownDuration: Double? = nil
        if st.pointee.duration != FF.noPTS && st.pointee.duration > 0 {
            ownDuration = Double(st.pointee.duration) * av_q2d(st.pointee.time_base)
        }
        if duration == nil { duration = ownDuration }
        // The check of a stated duration against the last frame uses the container's duration when the video is its
        // only stream (else an audio track running longer would be taken for a claim).
        streamDuration = format.pointee.nb_streams == 1 ? (duration ?? ownDuration) : (ownDuration ?? duration)
        let rate = st.pointee.avg_frame_rate
        info = VideoInfo(duration: duration, width: size.width, height: size.height,
                         codec: String(cString: avcodec_get_name(parameters.codec_id)),
                         frameRate: rate.num > 0 && rate.den > 0 ? av_q2d(rate) : nil, rotation: angle)
        if FrameConversion.pixelCount(size.width, size.height) > maxPixels {
            throw VideoError.tooLarge(name, width: size.width, height: size.height, maxPixels: maxPixels)
        }
        openWarnings = warnings
        unused = video
    }

    /// The container named by the first bytes of the file at `path` (nil: not a video, or unreadable).
    static func sniffFile(_ path: String) -> String? {
        if case .success(.video(let container)) = ContentKind.ofFile(atPath: path) { return container }
        return nil
    }

    private func takeVideo() throws -> DemuxedVideo {
        if let video = unused {
            unused = nil
            return video
        }
        return try openVideo()
    }

    /// Decodes the frames `sampling` takes, in time order, calling `body` with each.
    /// - Returns: what sampling found besides the frames.
    /// - Throws: `VideoError.decodingStopped` / `.noFrames` where decoding failed (the frames before it were given to
    ///   `body`), or what `body` throws.
    public func forEachFrame(_ sampling: VideoSampling, _ body: (VideoFrame) throws -> Void) throws -> VideoSummary {
        let (summary, error) = sample(sampling, body)
        if let error { throw error }
        return summary
    }

    /// The frame `ffmpeg -ss time -i VIDEO -frames:v 1` gives: the first frame whose presentation time is >= `time`.
    /// - Throws: `VideoError.noFrames` when no frame is at or after `time`, or the errors of `forEachFrame`.
    public func frame(at time: Double) throws -> VideoFrame {
        let video = try takeVideo()
        let stream = makeStream(video, seeking: seekingEnabled)
        let clock = Clock(video)
        guard let target = clock.targetPTS(time) else {
            throw VideoError.noFrames(name, reason: "no frame at or after \(VideoTime.text(time)) s")
        }
        defer { lastSeeks = stream.seeks; lastFallbacks = stream.fallbacks; lastDecodedFrames = stream.decodedFrames }
        while let (picture, pts) = try stream.next(target: target, skipNonReference: true) {
            if pts >= target { return try makeFrame(picture, pts: pts, index: 0, clock: clock, stream: stream) }
        }
        if let reason = stream.readError {
            throw VideoError.decodingStopped(name, time: stream.lastDecodedPTS.map(clock.seconds), reason: reason)
        }
        throw VideoError.noFrames(name, reason: "no frame at or after \(VideoTime.text(time)) s")
    }

    private func makeStream(_ video: DemuxedVideo, seeking: Bool) -> FrameStream {
        FrameStream(video, seeking: seeking, reopen: openVideo)
    }

    /// Seconds and timestamps of one stream.
    struct Clock {
        let timeBase: AVRational
        let startMicroseconds: Int64

        init(_ video: DemuxedVideo) {
            timeBase = video.timeBase
            startMicroseconds = video.startMicroseconds
        }

        /// Seconds from the container's start.
        func seconds(_ pts: Int64) -> Double {
            Double(pts) * Double(timeBase.num) / Double(timeBase.den) - Double(startMicroseconds) / 1e6
        }

        /// The pts a frame needs to be at or after `seconds` from the start, as `ffmpeg -ss` compares: the time in
        /// microseconds plus the start time, rescaled to the stream's time base (rounded to nearest).
        func targetPTS(_ seconds: Double) -> Int64? {
            let us = (seconds * 1e6).rounded()
            guard us.isFinite, abs(us) < 4e18 else { return nil }
            let value = av_rescale_q(Int64(us) &+ startMicroseconds, FF.timeBaseQ, timeBase)
            return value == Int64.min ? nil : value
        }
    }

    private func makeFrame(_ picture: DecodedPicture, pts: Int64, index: Int, clock: Clock,
                           stream: FrameStream) throws -> VideoFrame {
        let sar = av_guess_sample_aspect_ratio(stream.video.format, stream.video.stream, picture.frame)
        let conversion = FrameConversion(rotation: rotation, sampleAspect: sar, name: name)
        let size = conversion.displaySize(width: Int(picture.frame.pointee.width), height: Int(picture.frame.pointee.height))
        if FrameConversion.pixelCount(size.width, size.height) > maxPixels {
            throw VideoError.tooLarge(name, width: size.width, height: size.height, maxPixels: maxPixels)
        }
        return VideoFrame(time: clock.seconds(pts), index: index, videoDuration: info.duration,
                          convert: { try conversion.rgbImage(picture) })
    }

    /// Samples the video: the summary, and the error where decoding stopped (frames before it went to `body`).
    func sample(_ sampling: VideoSampling, _ body: (VideoFrame) throws -> Void) -> (VideoSummary, Error?) {
        var summary = VideoSummary(warnings: openWarnings)
        let video: DemuxedVideo
        do { video = try takeVideo() } catch { return (summary, error) }
        let clock = Clock(video)
        var scenes: (threshold: Double, maxGap: Double)? = nil
        var step = VideoSampling.defaultEvery
        switch sampling.mode {
        case .every(let seconds): step = seconds
        case .scenes(let threshold, let maxGap): scenes = (threshold, maxGap)
        }
        let stream = makeStream(video, seeking: seekingEnabled && scenes == nil)
        defer { lastSeeks = stream.seeks; lastFallbacks = stream.fallbacks; lastDecodedFrames = stream.decodedFrames }
        var detector = SceneDetector()
        var lastDelivered: Int64? = nil
        var lastTakenTime: Double? = nil
        let first = clock.targetPTS(0) ?? 0
        var target: Int64? = first
        var targetIndex: Int64 = 0
        var completed = true
        do {
            decoding: while true {
                guard let (picture, pts) = try stream.next(target: scenes == nil ? target : nil,
                                                           skipNonReference: scenes == nil) else { break }
                let take: Bool
                if let scenes {
                    let score = detector.score(picture)
                    let t = clock.seconds(pts)
                    if pts < first || (lastDelivered.map { pts <= $0 } ?? false) {
                        take = false
                    } else if let last = lastTakenTime {
                        take = score > scenes.threshold || t >= last + scenes.maxGap - 1e-9
                    } else {
                        take = true
                    }
                } else {
                    guard let current = target else { break }
                    take = pts >= current && (lastDelivered.map { pts > $0 } ?? true)
                }
                guard take else { continue }
                let frame = try makeFrame(picture, pts: pts, index: summary.frames, clock: clock, stream: stream)
                try body(frame)
                summary.frames += 1
                lastDelivered = pts
                lastTakenTime = frame.time
                if let maxFrames = sampling.maxFrames, summary.frames >= maxFrames {
                    summary.stoppedAtMaxFrames = frame.time
                    completed = false
                    break decoding
                }
                if scenes == nil {
                    // The next target that this frame does not answer already.
                    let t = frame.time
                    guard t / step < 1e15 else {
                        // A step so small that the target index would overflow: every later frame answers a
                        // target of its own, so the next frame after this one is taken.
                        target = pts == Int64.max ? nil : pts + 1
                        if target == nil { break decoding }
                        continue
                    }
                    var k = max(targetIndex + 1, Int64((t / step).rounded(.down)))
                    var guardSteps = 0
                    while let p = clock.targetPTS(Double(k) * step), p <= pts, guardSteps < 64 {
                        k += 1
                        guardSteps += 1
                    }
                    targetIndex = k
                    target = clock.targetPTS(Double(k) * step)
                    if target == nil { break decoding }
                }
            }
        } catch {
            return (summary, error)
        }
        let lastTime = stream.lastDecodedPTS.map(clock.seconds)
        if stream.skippedPackets > 0 {
            summary.warnings.append("\(name): \(stream.skippedPackets) packet(s) the decoder rejected were skipped"
                                    + (stream.errors.isEmpty ? "" : " (\(stream.errors.joined(separator: "; ")))"))
        }
        if let corrupt = stream.corruptFrames.first {
            summary.warnings.append("\(name): \(stream.corruptFrames.count) frame(s) decoded with errors, "
                                    + "the first at \(VideoTime.text(clock.seconds(corrupt))) s")
        }
        guard completed else { return (summary, nil) }
        // The decoder's errors since the last frame it gave.
        let decoderErrors = stream.errorsSinceFrame.isEmpty ? nil : stream.errorsSinceFrame.joined(separator: "; ")
        if stream.lastDecodedPTS == nil {
            let reason = stream.readError ?? decoderErrors ?? "the video stream holds no frames"
            return (summary, VideoError.noFrames(name, reason: reason))
        }
        if let reason = stream.readError {
            return (summary, VideoError.decodingStopped(name, time: lastTime, reason: reason))
        }
        if stream.lastFrameCorrupt {
            let good = stream.lastGoodPTS.map(clock.seconds)
            return (summary, VideoError.decodingStopped(name, time: good, reason: "the data ends inside a frame "
                                                        + "(a truncated or corrupt file)"))
        }
        if stream.errorsSinceLastFrame > 0 {
            let reason = "truncated or corrupt data: " + (decoderErrors ?? "the decoder rejected the rest")
            return (summary, VideoError.decodingStopped(name, time: lastTime, reason: reason))
        }
        if let stated = streamDuration, let lastTime, stated - lastTime > max(0.5, 0.02 * stated) {
            summary.durationUnconfirmed = true
            summary.warnings.append("\(name): the container states a duration of \(VideoTime.text(stated)) s but the "
                                    + "last frame is at \(VideoTime.text(lastTime)) s (truncated, or a wrong header)")
        }
        return (summary, nil)
    }
}

/// The FFmpeg demuxer of each container `ContentKind` recognises.
public enum VideoContainer {
    /// FFmpeg's short demuxer name for a container name of `ContentKind.video` (nil: not one this build reads).
    public static func demuxer(for container: String) -> String? {
        switch container {
        case "MP4", "QuickTime", "3GP": return "mov"
        case "Matroska", "WebM": return "matroska"
        case "AVI": return "avi"
        case "MPEG-TS", "M2TS": return "mpegts"
        default: return nil
        }
    }
}
