/// Which frames of a video are taken (`--every`, `--scenes`, `--max-gap`, `--max-frames`).
public struct VideoSampling: Sendable, Equatable, Hashable {
    public enum Mode: Sendable, Equatable, Hashable {
        /// One frame per `seconds`: for each target time t = 0, s, 2s, ... (seconds from the start of the file, the
        /// origin of `ffmpeg -ss`), the first frame whose presentation time is >= t; a frame that already answered
        /// an earlier target is not taken twice. Sampling ends when no frame is at or after the next target.
        /// "At or after" is decided as `ffmpeg -ss t` decides it: t in microseconds plus the container's start time,
        /// rescaled to the stream's time base (rounded to nearest), against the frame's timestamp; so in a stream
        /// whose time base is the frame duration (AVI: 1/25 s) a frame up to half a tick before t counts.
        case every(seconds: Double)
        /// The first frame (at or after time 0), every frame whose scene score (FFmpeg 5.1's `select` filter
        /// `scene` measure, 0 to 1: see `SceneDetector`) is above `threshold`, and, when no frame has been taken for
        /// `maxGap` seconds, the first frame at or after that point. Every frame is decoded (the score compares
        /// each frame with the one before).
        case scenes(threshold: Double, maxGap: Double)
    }

    public var mode: Mode
    /// At most this many frames per video: the first `maxFrames` samples (nil: no limit).
    public var maxFrames: Int?

    /// `--every` without a value given: one frame per second.
    public static let defaultEvery = 1.0
    /// `--scenes` without a threshold.
    public static let defaultSceneThreshold = 0.4
    /// `--max-gap` without a value.
    public static let defaultMaxGap = 10.0

    public init(mode: Mode = .every(seconds: VideoSampling.defaultEvery), maxFrames: Int? = nil) {
        self.mode = mode
        self.maxFrames = maxFrames
    }

    /// These settings as a short stable text, stored with a video's rows in an index so that a re-run with other
    /// settings samples the video again: `every=1`, `scenes=0.4,max-gap=10`, each followed by `,max-frames=N`
    /// when limited. Numbers are written as Swift's `description` of the Double (`1.0` -> `1`, `0.5` -> `0.5`).
    public var key: String {
        func number(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        }
        var text: String
        switch mode {
        case .every(let s): text = "every=\(number(s))"
        case .scenes(let t, let gap): text = "scenes=\(number(t)),max-gap=\(number(gap))"
        }
        if let maxFrames { text += ",max-frames=\(maxFrames)" }
        return text
    }
}
