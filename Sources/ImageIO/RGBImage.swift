/// A decoded image: 8-bit RGB, row-major, interleaved (`pixels.count == width * height * 3`),
/// after EXIF orientation and conversion to RGB, as `PIL.ImageOps.exif_transpose` then `convert("RGB")`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `[height, width, 3]` bytes, R G B.
    public var pixels: [UInt8]
    /// The single transparent colour of the source file, or `nil`: Pillow keeps it in `info["transparency"]`
    /// through `convert("RGB")` (a palette PNG whose tRNS makes exactly one entry fully transparent, a gray or
    /// RGB PNG with tRNS, a GIF with a transparency index), and transformers' `convert_to_rgb` then turns every
    /// pixel of exactly this colour white. `ImageProcessor` does the same when `do_convert_rgb` is true.
    /// Carried through `transposed(forOrientation:)` and `resized(width:height:filter:)`, as Pillow carries `info`.
    public var transparentColor: RGBColor?

    /// - Precondition: `width > 0`, `height > 0` and `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8], transparentColor: RGBColor? = nil) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGBImage needs width*height*3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
        self.transparentColor = transparentColor
    }
}

/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// `(r, g, b)`, as Python prints the tuple.
    public var description: String { "(\(red), \(green), \(blue))" }
}
