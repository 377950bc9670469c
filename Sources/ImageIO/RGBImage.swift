/// A decoded image: 8-bit RGB, row-major, interleaved (`pixels.count == width * height * 3`),
/// after EXIF orientation and conversion to RGB, as `PIL.ImageOps.exif_transpose` then `convert("RGB")`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `[height, width, 3]` bytes, R G B.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGBImage needs width*height*3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
