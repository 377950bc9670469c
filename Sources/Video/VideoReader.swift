import Foundation
import ImageIO

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

    public init(frames: Int = 0, stoppedAtMaxFrames: Double? = nil, warnings: [String] = []) {
        self.frames = frames
        self.stoppedAtMaxFrames = stoppedAtMaxFrames
        self.warnings = warnings
    }
}

/// Reads one video through FFmpeg's libraries (libavformat, libavcodec, libswscale).
public final class VideoReader {
    /// The input as errors name it.
    public let name: String
    public let info: VideoInfo

    /// Opens a local video file.
    /// - Throws: `VideoError` (`.cannotOpen`, `.noVideoStream`, `.codecUnavailable`, `.tooLarge`).
    public init(path: String, name: String, maxPixels: Int = ImageDecoder.defaultMaxPixels) throws {
        self.name = name
        throw VideoError.cannotOpen(name, reason: "video decoding is not built yet")
    }

    /// Opens a video held in memory (a download).
    public init(data: Data, name: String, maxPixels: Int = ImageDecoder.defaultMaxPixels) throws {
        self.name = name
        throw VideoError.cannotOpen(name, reason: "video decoding is not built yet")
    }

    /// Decodes the frames `sampling` takes, in time order, calling `body` with each.
    /// - Returns: what sampling found besides the frames.
    /// - Throws: `VideoError.decodingStopped` / `.noFrames` where decoding failed (the frames before it were given to
    ///   `body`), or what `body` throws.
    public func forEachFrame(_ sampling: VideoSampling, _ body: (VideoFrame) throws -> Void) throws -> VideoSummary {
        throw VideoError.noFrames(name, reason: "video decoding is not built yet")
    }

    /// The frame `ffmpeg -ss time -i VIDEO -frames:v 1` gives: the first frame whose presentation time is >= `time`.
    public func frame(at time: Double) throws -> VideoFrame {
        throw VideoError.noFrames(name, reason: "video decoding is not built yet")
    }
}
