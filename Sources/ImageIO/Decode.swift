import FileReading
import CImageCodecs
import Foundation

/// Container formats recognised from their leading bytes (never from the file extension).
public enum ImageFormat: String, Sendable, Equatable {
    case jpeg, png, gif, webp, bmp

    /// Detects the format from magic bytes: JPEG `FF D8 FF`, PNG's 8-byte signature, `GIF87a`/`GIF89a`,
    /// `RIFF....WEBP`, `BM`. Returns `nil` for anything else.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + magic.count else { return false }
            for (i, b) in magic.enumerated() where bytes[offset + i] != b { return false }
            return true
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("BM".utf8)) { return .bmp }
        return nil
    }

    /// Names a known image format that is not decoded here (for the error message), or `nil`.
    public static func unsupportedName(_ bytes: UnsafeRawBufferPointer) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + magic.count else { return false }
            for (i, b) in magic.enumerated() where bytes[offset + i] != b { return false }
            return true
        }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
            || starts([0x49, 0x49, 0x2B, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2B]) { return "TIFF" }
        if starts(Array("ftyp".utf8), at: 4) {
            for brand in ["avif", "avis"] where starts(Array(brand.utf8), at: 8) { return "AVIF" }
            for brand in ["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"]
            where starts(Array(brand.utf8), at: 8) { return "HEIF" }
        }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) {
            return "JPEG 2000"
        }
        if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { return "JPEG XL" }
        if starts(Array("8BPS".utf8)) { return "PSD" }
        if starts([0x00, 0x00, 0x01, 0x00]) { return "ICO" }
        if starts(Array("qoif".utf8)) { return "QOI" }
        if starts([0x76, 0x2F, 0x31, 0x01]) { return "OpenEXR" }
        return nil
    }
}

/// Decodes encoded images to 8-bit RGB exactly as transformers' `load_image` does with Pillow:
/// `PIL.Image.open` -> `PIL.ImageOps.exif_transpose` -> `convert("RGB")`.
///
/// Formats: JPEG (libjpeg-turbo: ISLOW IDCT, fancy upsampling; gray replicated; 4-component JPEGs read as
/// Adobe-inverted CMYK and converted with Pillow's CMYK->RGB formula), PNG (libpng: gray, gray+alpha,
/// palette with or without tRNS, RGB, RGBA, interlaced; alpha and transparency dropped; 16-bit samples
/// keep their high byte — identical to Pillow for RGB/RGBA/gray+alpha, a documented deviation for 16-bit
/// gray, which Pillow clips to 255), WebP (libwebp, first frame), GIF (giflib, first frame composed as
/// Pillow's frame 0), BMP (1/4/8-bit palette, uncompressed or RLE8/RLE4, 16/24/32-bit, bottom-up or top-down).
/// A single transparent colour that Pillow keeps through `convert("RGB")` (PNG tRNS, GIF transparency index) is
/// returned as `RGBImage.transparentColor`; the pixels themselves are Pillow's RGB bytes, unchanged.
/// The format is detected from magic bytes. EXIF orientation 1-8 comes from JPEG APP1 "Exif", PNG eXIf
/// (or a "Raw profile type exif" text chunk), the WebP EXIF chunk, else XMP `tiff:Orientation`, as Pillow's
/// `Image.getexif`.
public enum ImageDecoder {
    /// Pillow's decompression-bomb error threshold: `2 * Image.MAX_IMAGE_PIXELS` = 2 * (1024^3 / 4 / 3).
    public static let defaultMaxPixels = 178_956_970

    /// Decodes an encoded image held in memory.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - maxPixels: images whose header declares more than `maxPixels` (width x height) pixels are
    ///     rejected before any pixel memory is allocated. Values below 1 reject every image.
    /// - Returns: an `RGBImage` of `[height, width, 3]` bytes, after EXIF orientation.
    /// - Throws: `ImageIOError` (`source == nil`) with kind `.truncated`, `.corrupt`, `.notAnImage`,
    ///   `.unsupportedFormat`, `.tooLarge` or `.outOfMemory`.
    public static func decode(_ data: Data, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try decode(data, maxPixels: maxPixels, source: nil)
    }

    /// Decodes the image file at `url` (see `decode(_:maxPixels:)`).
    /// - Throws: `ImageIOError` whose `source` is the file's path as given (`url.relativePath`: relative when the
    ///   URL was made from a relative path, so that messages match what the user typed): `.unreadable` when it
    ///   cannot be read, otherwise as `decode(_:maxPixels:)`.
    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let path = url.isFileURL ? url.path : url.absoluteString
        let name = url.isFileURL ? url.relativePath : url.absoluteString
        if url.isFileURL, let problem = fileProblem(path) {
            throw ImageIOError(kind: .unreadable, source: name, reason: "cannot read the file (\(problem))")
        }
        let data: Data
        do {
            // Mapped, not read: no limit on the file size beyond the decoders' pixel limit.
            data = try FileContents.read(url, maxBytes: .max, mapped: true)
        } catch {
            throw ImageIOError(kind: .unreadable, source: name,
                               reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try decode(data, maxPixels: maxPixels, source: name)
    }

    /// Why `path` cannot be read as a file, in the system's words ("No such file or directory", "Is a
    /// directory", "Too many levels of symbolic links", "Permission denied"), or `nil` when it can be opened.
    static func fileProblem(_ path: String) -> String? {
        // Non-blocking, so that a FIFO is reported instead of waiting for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return String(cString: strerror(errno)) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return String(cString: strerror(EISDIR)) }
        if (st.st_mode & S_IFMT) != S_IFREG { return "not a regular file" }
        return nil
    }

    /// Decodes an encoded image held in memory that came from `source` (a path or URL as the user gave it), which
    /// errors name (see `decode(_:maxPixels:)`).
    /// - Throws: `ImageIOError` whose `source` is `source`.
    public static func decode(_ data: Data, maxPixels: Int = defaultMaxPixels, source: String?) throws -> RGBImage {
        do {
            return try data.withUnsafeBytes { bytes -> RGBImage in
                try decodeBytes(bytes, maxPixels: maxPixels)
            }
        } catch let error as ImageIOError {
            throw error.with(source: source)
        }
    }

    static func decodeBytes(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws -> RGBImage {
        guard bytes.count > 0 else {
            throw ImageIOError(kind: .notAnImage, source: nil, reason: "not an image (the data is empty)")
        }
        guard let format = ImageFormat.detect(bytes) else {
            if let name = ImageFormat.unsupportedName(bytes) {
                throw ImageIOError(kind: .unsupportedFormat, source: nil,
                                   reason: "unsupported image format (\(name)); supported: JPEG, PNG, WebP, GIF, BMP")
            }
            throw ImageIOError(kind: .notAnImage, source: nil,
                               reason: "not an image (no JPEG, PNG, WebP, GIF or BMP signature)")
        }
        let limit = UInt64(max(0, maxPixels))
        var decoded: DecodedImage
        switch format {
        case .bmp:
            decoded = try BMPDecoder.decode(bytes, maxPixels: limit)
        case .jpeg:
            decoded = try decodeWithCodec(bytes, limit, zs_decode_jpeg)
        case .png:
            decoded = try decodeWithCodec(bytes, limit, zs_decode_png)
        case .webp:
            decoded = try decodeWithCodec(bytes, limit, zs_decode_webp)
        case .gif:
            decoded = try decodeWithCodec(bytes, limit, zs_decode_gif)
        }
        let orientation = EXIFOrientation.orientation(exif: decoded.exif, xmp: decoded.xmp,
                                                      rawProfileText: decoded.rawExifText)
        return decoded.image.transposed(forOrientation: orientation)
    }

    typealias CodecFunction = (UnsafePointer<UInt8>?, Int, UInt64, UnsafeMutablePointer<zs_image>?) -> Int32

    private static func decodeWithCodec(_ bytes: UnsafeRawBufferPointer, _ maxPixels: UInt64,
                                        _ codec: CodecFunction) throws -> DecodedImage {
        var img = zs_image()
        defer { zs_image_free(&img) }
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let status = codec(base, bytes.count, maxPixels, &img)
        guard status == Int32(ZS_OK.rawValue), img.status == Int32(ZS_OK.rawValue) else {
            let message = withUnsafeBytes(of: img.message) { raw -> String in
                let chars = raw.prefix(while: { $0 != 0 })
                return String(decoding: chars, as: UTF8.self)
            }
            let kind: ImageIOError.Kind
            switch UInt32(bitPattern: status) {
            case ZS_TRUNCATED.rawValue: kind = .truncated
            case ZS_TOO_LARGE.rawValue: kind = .tooLarge
            case ZS_NO_MEMORY.rawValue: kind = .outOfMemory
            case ZS_UNSUPPORTED.rawValue: kind = .unsupportedFormat
            default: kind = .corrupt
            }
            let detail = message.isEmpty ? "decoding failed" : message
            throw ImageIOError(kind: kind, source: nil, reason: detail)
        }
        let w = Int(img.width), h = Int(img.height)
        guard w > 0, h > 0, let pixels = img.pixels else {
            throw ImageIOError(kind: .corrupt, source: nil, reason: "decoder returned no pixels")
        }
        let rgb = [UInt8](UnsafeBufferPointer(start: pixels, count: w * h * 3))
        func copy(_ p: UnsafeMutablePointer<UInt8>?, _ n: Int) -> [UInt8]? {
            guard let p, n > 0 else { return nil }
            return [UInt8](UnsafeBufferPointer(start: p, count: n))
        }
        let key = img.has_transparent_color != 0
            ? RGBColor(red: img.transparent_rgb.0, green: img.transparent_rgb.1, blue: img.transparent_rgb.2) : nil
        return DecodedImage(image: RGBImage(width: w, height: h, pixels: rgb, transparentColor: key),
                            exif: copy(img.exif, img.exif_size),
                            xmp: copy(img.xmp, img.xmp_size),
                            rawExifText: copy(img.raw_exif_text, img.raw_exif_text_size))
    }
}

/// A decoded image before orientation, with the metadata Pillow reads orientation from.
struct DecodedImage {
    var image: RGBImage
    var exif: [UInt8]?
    var xmp: [UInt8]?
    var rawExifText: [UInt8]?
}
