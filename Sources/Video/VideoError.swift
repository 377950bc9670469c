import Foundation

/// Why a video could not be read, or where reading it stopped. Every message names the input as given; a time is
/// seconds from the start of the file.
public enum VideoError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// FFmpeg could not open or parse the container (`reason` in FFmpeg's words, e.g. "moov atom not found").
    case cannotOpen(String, reason: String)
    /// The file holds no video stream (an audio-only file).
    case noVideoStream(String)
    /// The video stream's codec has no decoder in this FFmpeg build (`codec` as FFmpeg names it, or its tag, or a
    /// note when the container names it by a text id FFmpeg does not know).
    case codecUnavailable(String, codec: String)
    /// The container has a video stream but not one frame could be decoded.
    case noFrames(String, reason: String)
    /// Decoding stopped early (`reason`), after the frame at `time` (nil: before the first frame); the frames
    /// sampled before it were delivered.
    case decodingStopped(String, time: Double?, reason: String)
    /// The frames are larger than the pixel limit (`--max-pixels`).
    case tooLarge(String, width: Int, height: Int, maxPixels: Int)

    /// The input the error names.
    public var input: String {
        switch self {
        case .cannotOpen(let n, _), .noVideoStream(let n), .codecUnavailable(let n, _), .noFrames(let n, _),
             .decodingStopped(let n, _, _), .tooLarge(let n, _, _, _):
            return n
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let name, let reason):
            return "\(name): cannot read the video (\(reason))"
        case .noVideoStream(let name):
            return "\(name): no video stream (an audio-only file?)"
        case .codecUnavailable(let name, let codec):
            return "\(name): no decoder for the video codec \(codec) in this FFmpeg build"
        case .noFrames(let name, let reason):
            return "\(name): no frame could be decoded (\(reason))"
        case .decodingStopped(let name, let time, let reason):
            let at = time.map { "after \(VideoTime.text($0)) s" } ?? "before the first frame"
            return "\(name): decoding stopped \(at) (\(reason)); the frames before were kept"
        case .tooLarge(let name, let w, let h, let max):
            return "\(name): video frames of \(w)x\(h) pixels exceed the limit of \(max) pixels (--max-pixels)"
        }
    }

    public var errorDescription: String? { description }
}
