import ImageIO

/// One sampled frame: its time and its decoded picture, converted to RGB on demand (`rgbImage()`, on whichever
/// thread calls it: the picture is held in the decoder's pixel format, half the memory of RGB for 4:2:0).
public final class VideoFrame: @unchecked Sendable {
    /// Presentation time in seconds from the start of the file (the container's start time, the origin of
    /// `ffmpeg -ss`), exact: (pts - start) x time_base.
    public let time: Double
    /// 0 for the first sampled frame of its video, then 1, 2, ...
    public let index: Int
    /// The container's duration in seconds, when it states one (not checked against the frames).
    public let videoDuration: Double?

    private let convert: @Sendable () throws -> RGBImage

    public init(time: Double, index: Int, videoDuration: Double?, convert: @escaping @Sendable () throws -> RGBImage) {
        self.time = time
        self.index = index
        self.videoDuration = videoDuration
        self.convert = convert
    }

    /// The frame as 8-bit RGB at its display size: converted with swscale as `ffmpeg -pix_fmt rgb24` converts it,
    /// the stream's rotation (display matrix) applied as FFmpeg's autorotate applies it, non-square pixels (sample
    /// aspect ratio) scaled to square ones.
    public func rgbImage() throws -> RGBImage { try convert() }
}
