import CFFmpeg
import Foundation

/// The scene score of FFmpeg's `select` filter (`scene`, FFmpeg 5.1), frame after frame:
/// sad = the sum of absolute differences between this frame and the previous one over the planes measured,
/// count = the samples compared, mafd = sad / count / 2^(bitdepth − 8) (the mean absolute difference on the 8-bit
/// scale, 0 to 255), and score = clip(min(mafd, |mafd − previous mafd|) / 100, 0, 1) (0 for the first frame and
/// after a size change). This is FFmpeg 5.1's libavfilter/f_select.c (later FFmpeg versions normalise mafd to
/// 0-100 instead: sad × 100 / count / 2^bitdepth, scores 2.56 times lower); the tests compare with the installed
/// `ffmpeg -vf "select='gt(scene,T)'"`.
///
/// Planes measured, as the filter: for planar YUV only the luma plane (at its own bit depth: 8 bits, or 9 to 16 bits
/// stored in 16), for gray the gray plane, for packed 8-bit RGB (RGB24, BGR24, RGBA, ABGR, BGRA) all bytes of a line.
/// Other formats (packed YUV, semi-planar high-bit-depth, planar RGB, ...) are converted with swscale first: to
/// RGB24 when they are RGB, else to YUV420P; the command line converts them to a format of the filter's list that
/// it negotiates, which may differ (then scores may differ slightly).
struct SceneDetector {
    private var previous: DecodedPicture?
    private var previousMAFD = 0.0

    mutating func score(_ picture: DecodedPicture) -> Double {
        let measured = Self.measurable(picture)
        defer { previous = measured }
        guard let previous, let measured else { return 0 }
        let a = previous.frame, b = measured.frame
        guard a.pointee.width == b.pointee.width, a.pointee.height == b.pointee.height,
              a.pointee.format == b.pointee.format,
              let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: b.pointee.format)) else { return 0 }
        let depth = Int(desc.pointee.comp.0.depth)
        let lineSize = Int(av_image_get_linesize(AVPixelFormat(rawValue: b.pointee.format), b.pointee.width, 0))
        let width = lineSize >> (depth > 8 ? 1 : 0)
        let height = Int(b.pointee.height)
        let sad = depth > 8
            ? zs_sad16(a.pointee.data.0, a.pointee.linesize.0, b.pointee.data.0, b.pointee.linesize.0, Int32(width), Int32(height))
            : zs_sad8(a.pointee.data.0, a.pointee.linesize.0, b.pointee.data.0, b.pointee.linesize.0, Int32(width), Int32(height))
        let count = Double(width * height)
        guard count > 0 else { return 0 }
        let mafd = Double(sad) / count / Double(UInt64(1) << UInt64(max(0, depth - 8)))
        let diff = abs(mafd - previousMAFD)
        previousMAFD = mafd
        return min(max(min(mafd, diff) / 100, 0), 1)
    }

    /// The picture itself when the filter measures its format directly, else a converted copy.
    static func measurable(_ picture: DecodedPicture) -> DecodedPicture? {
        let format = AVPixelFormat(rawValue: picture.frame.pointee.format)
        guard let desc = av_pix_fmt_desc_get(format) else { return nil }
        let flags = desc.pointee.flags
        let rgb = flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0
        let planar = flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0
        let comp0 = desc.pointee.comp.0
        let depth = Int(comp0.depth)
        let lumaAlone = comp0.plane == 0 && comp0.shift == 0 && comp0.step == (depth > 8 ? 2 : 1)
        let direct: Bool
        if !rgb && planar && desc.pointee.nb_components >= 3 {
            direct = lumaAlone && depth <= 16
        } else if !rgb && desc.pointee.nb_components <= 2 {
            direct = lumaAlone && depth <= 16 && (desc.pointee.nb_components == 1)
        } else {
            direct = [AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGBA, AV_PIX_FMT_ABGR, AV_PIX_FMT_BGRA].contains(format)
        }
        if direct { return picture }
        return convert(picture, to: rgb ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P)
    }

    private static func convert(_ picture: DecodedPicture, to format: AVPixelFormat) -> DecodedPicture? {
        let src = picture.frame
        guard let sws = sws_getContext(src.pointee.width, src.pointee.height, AVPixelFormat(rawValue: src.pointee.format),
                                       src.pointee.width, src.pointee.height, format, 0, nil, nil, nil) else { return nil }
        defer { sws_freeContext(sws) }
        guard let out = av_frame_alloc() else { return nil }
        let result = DecodedPicture(out)
        out.pointee.format = format.rawValue
        out.pointee.width = src.pointee.width
        out.pointee.height = src.pointee.height
        guard av_frame_get_buffer(out, 0) >= 0, sws_scale_frame(sws, out, src) >= 0 else { return nil }
        return result
    }
}
