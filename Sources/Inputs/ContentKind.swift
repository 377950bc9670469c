import Foundation
import ImageIO
#if canImport(Glibc)
import Glibc
#endif

/// What a file holds, recognised from its first bytes (never from its name), so that a walk can tell the files a
/// run takes from the others.
public enum ContentKind: Sendable, Equatable {
    /// An image `ImageDecoder` reads.
    case image(ImageFormat)
    /// An image in a format that is not decoded (TIFF, HEIF, AVIF, ...): taken as an input, so that its error says so
    /// instead of the photo being left out without a word.
    case unsupportedImage(String)
    /// A video container (the name: "MP4", "QuickTime", "3GP", "Matroska", "WebM", "AVI", "MPEG-TS", "M2TS"),
    /// sampled into frames.
    case video(String)
    /// Anything else.
    case other

    /// How many leading bytes `sniff` looks at (enough for three MPEG-TS / M2TS packets).
    public static let headerLength = 1024

    /// The kind of content that starts with `bytes`: `ImageFormat.detect`, then `ImageFormat.unsupportedName`
    /// (HEIF and AVIF stay unsupported images), then `videoContainer`.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ContentKind {
        if let format = ImageFormat.detect(bytes) { return .image(format) }
        if let name = ImageFormat.unsupportedName(bytes) { return .unsupportedImage(name) }
        if let name = videoContainer(bytes) { return .video(name) }
        return .other
    }

    /// Whether a walk takes the file as an input.
    public var isInput: Bool {
        switch self {
        case .image, .unsupportedImage, .video: return true
        case .other: return false
        }
    }

    /// ISO base media brands of video files (MP4, QuickTime, 3GPP, and the profiles cameras and encoders write).
    static let videoBrands: Set<String> = [
        "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "mp71", "avc1",
        "hvc1", "hev1", "av01", "vp09", "dash", "M4V ", "M4VH", "M4VP", "f4v ", "mmp4", "MSNV", "NDAS", "NDSC",
        "NDSH", "NDSM", "NDSP", "NDSS", "NDXC", "NDXH", "NDXM", "NDXP", "NDXS", "XAVC", "crx ", "qt  ",
        "3gp4", "3gp5", "3gp6", "3gp7", "3gp8", "3gp9", "3g2a", "3g2b", "3g2c", "3ge6", "3ge7", "3gg6", "3gs7",
        "3gs9", "3gr6", "3gt9", "mj2s", "mjp2", "CAEP", "caqv", "FACE", "J2P0", "J2P1", "KDDI", "ROSS", "M4PV",
    ]
    /// Brands of audio-only ISO files.
    static let audioBrands: Set<String> = ["M4A ", "M4B ", "M4P ", "F4A ", "F4B "]

    /// The video container `bytes` start with: an ISO/QuickTime `ftyp` box at offset 4 whose major brand (or, unless
    /// that brand is an audio one, a compatible brand) is a video brand; a QuickTime file starting with a `moov`,
    /// `mdat`, `wide`, `free` or `skip` atom; Matroska/WebM (EBML magic 1A 45 DF A3, the DocType telling which);
    /// AVI (`RIFF....AVI `); MPEG-TS (the sync byte 0x47 at 0, 188 and 376) or M2TS (0x47 at 4, 196 and 388).
    public static func videoContainer(_ bytes: UnsafeRawBufferPointer) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + magic.count else { return false }
            for (i, b) in magic.enumerated() where bytes[offset + i] != b { return false }
            return true
        }
        func text(_ offset: Int, _ length: Int = 4) -> String? {
            guard bytes.count >= offset + length else { return nil }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }
        func u32(_ offset: Int) -> Int {
            (Int(bytes[offset]) << 24) | (Int(bytes[offset + 1]) << 16) | (Int(bytes[offset + 2]) << 8) | Int(bytes[offset + 3])
        }
        if starts(Array("ftyp".utf8), at: 4), let major = text(8) {
            if videoBrands.contains(major) {
                return major == "qt  " ? "QuickTime" : major.hasPrefix("3g") ? "3GP" : "MP4"
            }
            if !audioBrands.contains(major) {
                let size = min(u32(0), bytes.count)
                var offset = 16
                while offset + 4 <= size {
                    if let brand = text(offset), videoBrands.contains(brand) { return "MP4" }
                    offset += 4
                }
            }
            return nil
        }
        if bytes.count >= 8, let atom = text(4), ["moov", "mdat", "wide", "free", "skip"].contains(atom) {
            let size = u32(0)
            if size == 0 || size == 1 || size >= 8 { return "QuickTime" }
        }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) {
            // The EBML header's DocType element (42 82, a size byte, the name).
            let limit = min(bytes.count, 64)
            var i = 4
            while i + 3 < limit {
                if bytes[i] == 0x42 && bytes[i + 1] == 0x82 {
                    let length = Int(bytes[i + 2] & 0x7F)
                    if bytes[i + 2] & 0x80 != 0, let name = text(i + 3, min(length, limit - i - 3)) {
                        return name == "webm" ? "WebM" : "Matroska"
                    }
                }
                i += 1
            }
            return "Matroska"
        }
        if starts(Array("RIFF".utf8)) && starts(Array("AVI ".utf8), at: 8) { return "AVI" }
        if bytes.count > 376 && bytes[0] == 0x47 && bytes[188] == 0x47 && bytes[376] == 0x47 { return "MPEG-TS" }
        if bytes.count > 388 && bytes[4] == 0x47 && bytes[196] == 0x47 && bytes[388] == 0x47 { return "M2TS" }
        return nil
    }

    /// The audio-only ISO file `bytes` start with (an `ftyp` box whose major brand is M4A, M4B, M4P, F4A or F4B):
    /// "M4A" and the like, else nil. Not an input of a walk (music is left out as other files are); named
    /// explicitly, it is reported as a file without a video stream.
    public static func audioContainer(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= 12, String(decoding: bytes[4..<8], as: UTF8.self) == "ftyp" else { return nil }
        let major = String(decoding: bytes[8..<12], as: UTF8.self)
        return audioBrands.contains(major) ? major.trimmingCharacters(in: .whitespaces) : nil
    }

    /// Why a file's first bytes could not be read (`reason` in the system's words).
    public struct ReadFailure: Error, Sendable {
        public let message: String
    }

    /// The kind of the file at `path`, from its first `headerLength` bytes (fewer for a shorter file). Opened
    /// non-blocking, so a FIFO without a writer reads as empty (`.other`) instead of waiting.
    public static func ofFile(atPath path: String) -> Result<ContentKind, ReadFailure> {
        header(ofFile: path).map { bytes in bytes.withUnsafeBytes { sniff($0) } }
    }

    /// The first `headerLength` bytes of the file at `path` (fewer for a shorter file), read as `ofFile` reads them.
    public static func header(ofFile path: String) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(ReadFailure(message: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: headerLength)
        var count = 0
        while count < header.count {
            let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(message: String(cString: strerror(errno))))
            }
            if n == 0 { break }
            count += n
        }
        return .success(Array(header[0..<count]))
    }
}
