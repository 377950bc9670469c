import CFFmpeg
import Foundation
import ImageIO

/// How a decoded picture becomes the RGB image of `VideoFrame.rgbImage()`: what `ffmpeg -i VIDEO -pix_fmt rgb24`
/// does (FFmpeg 5.1's command line), with the sample aspect ratio made square in the same swscale call.
///
/// 1. Rotation, as the command line's autorotate: the display matrix's angle θ = -round(av_display_rotation_get)
///    normalised to [0, 360); 90: `transpose=clock`, 180: `hflip,vflip`, 270: `transpose=cclock`, applied to the
///    decoded planes (lossless data movement) before the conversion. Other angles are not applied (a warning; the
///    command line would insert its `rotate` filter). A 90/270 rotation of a format whose chroma planes are not
///    square-subsampled (4:2:2, 4:1:1, ...), which the `transpose` filter does not take, is applied to the RGB
///    image after the conversion (the command line converts to another format first: chroma may differ slightly).
/// 2. One swscale call to RGB24 with the options libavfilter's `scale` filter (the one the command line inserts
///    for `-pix_fmt rgb24`, or `-vf scale=W:H`) gives it: flags 0 (swscale's default, bicubic), the frame's colour
///    range as `src_range`, a vertical chroma position of 128 for YUV420P input, then
///    `sws_setColorspaceDetails` with the coefficients of the frame's colour space (unspecified or unknown: BT.601),
///    the frame's range (when stated) and the output range swscale chose. Output buffers are allocated as
///    libavfilter allocates them (av_frame_get_buffer). swscale runs single-threaded here (the command line slices
///    it over threads: same pixels).
/// 3. Non-square pixels (SAR ≠ 1, taken after rotation) are scaled to square in that same call: a SAR above 1
///    widens the picture to round(width × SAR), below 1 heightens it to round(height / SAR) — as
///    `ffmpeg -vf scale=W:H` with that size.
struct FrameConversion: Sendable {
    /// 0, 90, 180 or 270 degrees clockwise.
    var rotation: Int
    /// The sample aspect ratio of the decoded (unrotated) picture (0/1 or 1/1: square).
    var sampleAspect: AVRational
    var name: String

    /// The RGB size for a decoded picture of `width` x `height`.
    func displaySize(width: Int, height: Int) -> (width: Int, height: Int) {
        var w = width, h = height
        var num = Int64(sampleAspect.num), den = Int64(sampleAspect.den)
        if rotation == 90 || rotation == 270 {
            swap(&w, &h)
            swap(&num, &den)
        }
        guard num > 0, den > 0, num != den else { return (w, h) }
        if num > den {
            return (Int((Int64(w) * num + den / 2) / den), h)
        }
        return (w, Int((Int64(h) * den + num / 2) / num))
    }

    /// `width` x `height`, or `Int.max` when the product overflows (a display size made from a stream's claimed
    /// size and a hostile sample aspect ratio can be up to 2^62 wide).
    static func pixelCount(_ width: Int, _ height: Int) -> Int {
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return overflow || width < 0 || height < 0 ? Int.max : product
    }

    func rgbImage(_ picture: DecodedPicture) throws -> RGBImage {
        let source = picture.frame
        guard let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: source.pointee.format)) else {
            throw VideoError.decodingStopped(name, time: nil, reason: "a frame in an unknown pixel format")
        }
        var planesRotated = false
        var rotated: UnsafeMutablePointer<AVFrame>? = nil
        defer { av_frame_free(&rotated) }
        if rotation != 0, Self.canRotatePlanes(desc, rotation: rotation) {
            rotated = try Self.rotatePlanes(source, desc: desc, rotation: rotation, name: name)
            planesRotated = true
        }
        let input = rotated ?? source
        // Size of the conversion's output: rotation (applied or pending) and SAR.
        let size = displaySize(width: Int(source.pointee.width), height: Int(source.pointee.height))
        var outWidth = size.width, outHeight = size.height
        let rotateAfter = rotation != 0 && !planesRotated
        if rotateAfter && (rotation == 90 || rotation == 270) { swap(&outWidth, &outHeight) }
        var image = try Self.convert(input, width: outWidth, height: outHeight, name: name)
        if rotateAfter {
            let orientation: Int = rotation == 90 ? 6 : rotation == 180 ? 3 : 8
            image = image.transposed(forOrientation: orientation)
        }
        return image
    }

    /// Whether libavfilter's transpose (90/270) or hflip+vflip (180) take this format as it is.
    static func canRotatePlanes(_ desc: UnsafePointer<AVPixFmtDescriptor>, rotation: Int) -> Bool {
        let flags = desc.pointee.flags
        if flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0 || flags & UInt64(AV_PIX_FMT_FLAG_HWACCEL) != 0
            || flags & UInt64(AV_PIX_FMT_FLAG_BITSTREAM) != 0 { return false }
        if rotation == 180 { return true }
        return desc.pointee.log2_chroma_w == desc.pointee.log2_chroma_h
    }

    static func rotatePlanes(_ source: UnsafeMutablePointer<AVFrame>, desc: UnsafePointer<AVPixFmtDescriptor>,
                             rotation: Int, name: String) throws -> UnsafeMutablePointer<AVFrame> {
        let width = Int32(source.pointee.width), height = Int32(source.pointee.height)
        guard let out = av_frame_alloc() else { throw VideoError.decodingStopped(name, time: nil, reason: "out of memory") }
        out.pointee.format = source.pointee.format
        out.pointee.width = rotation == 180 ? width : height
        out.pointee.height = rotation == 180 ? height : width
        guard av_frame_get_buffer(out, 0) >= 0 else {
            var f: UnsafeMutablePointer<AVFrame>? = out
            av_frame_free(&f)
            throw VideoError.decodingStopped(name, time: nil, reason: "out of memory")
        }
        av_frame_copy_props(out, source)
        if rotation != 180 {
            let sar = source.pointee.sample_aspect_ratio
            out.pointee.sample_aspect_ratio = AVRational(num: sar.den, den: sar.num)
        }
        var steps: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &steps) {
            $0.withMemoryRebound(to: Int32.self, capacity: 4) { av_image_fill_max_pixsteps($0, nil, desc) }
        }
        let stepList = [steps.0, steps.1, steps.2, steps.3]
        let planes = Int(av_pix_fmt_count_planes(AVPixelFormat(rawValue: source.pointee.format)))
        withUnsafeMutablePointer(to: &source.pointee.data) { srcData in
            srcData.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { src in
                withUnsafeMutablePointer(to: &out.pointee.data) { dstData in
                    dstData.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                        withUnsafeMutablePointer(to: &source.pointee.linesize) { srcLines in
                            srcLines.withMemoryRebound(to: Int32.self, capacity: 8) { srcLinesize in
                                withUnsafeMutablePointer(to: &out.pointee.linesize) { dstLines in
                                    dstLines.withMemoryRebound(to: Int32.self, capacity: 8) { dstLinesize in
                                        for plane in 0..<planes {
                                            let chroma = plane == 1 || plane == 2
                                            let hsub = chroma ? Int32(desc.pointee.log2_chroma_w) : 0
                                            let vsub = chroma ? Int32(desc.pointee.log2_chroma_h) : 0
                                            let w = -((-width) >> hsub), h = -((-height) >> vsub)
                                            if rotation == 180 {
                                                zs_rotate_plane_180(src[plane], srcLinesize[plane], dst[plane],
                                                                    dstLinesize[plane], w, h, stepList[plane])
                                            } else {
                                                zs_rotate_plane_90(src[plane], srcLinesize[plane], dst[plane],
                                                                   dstLinesize[plane], w, h, stepList[plane],
                                                                   rotation == 90 ? 1 : 0)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// One swscale call from `input` to RGB24 at `width` x `height`, set up as libavfilter's `scale` filter sets it.
    static func convert(_ input: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, name: String) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw VideoError.decodingStopped(name, time: nil, reason: "a frame of \(width)x\(height) pixels")
        }
        guard let sws = sws_alloc_context() else {
            throw VideoError.decodingStopped(name, time: nil, reason: "out of memory")
        }
        defer { sws_freeContext(sws) }
        let s = UnsafeMutableRawPointer(sws)
        let format = input.pointee.format
        av_opt_set_int(s, "srcw", Int64(input.pointee.width), 0)
        av_opt_set_int(s, "srch", Int64(input.pointee.height), 0)
        av_opt_set_int(s, "src_format", Int64(format), 0)
        av_opt_set_int(s, "dstw", Int64(width), 0)
        av_opt_set_int(s, "dsth", Int64(height), 0)
        av_opt_set_int(s, "dst_format", Int64(AV_PIX_FMT_RGB24.rawValue), 0)
        av_opt_set_int(s, "sws_flags", 0, 0)
        av_opt_set_int(s, "param0", Int64(SWS_PARAM_DEFAULT), 0)
        av_opt_set_int(s, "param1", Int64(SWS_PARAM_DEFAULT), 0)
        av_opt_set_int(s, "threads", 1, 0)
        let range = input.pointee.color_range
        if range != AVCOL_RANGE_UNSPECIFIED {
            av_opt_set_int(s, "src_range", range == AVCOL_RANGE_JPEG ? 1 : 0, 0)
        }
        av_opt_set_int(s, "src_h_chr_pos", -513, 0)
        av_opt_set_int(s, "src_v_chr_pos", format == AV_PIX_FMT_YUV420P.rawValue ? 128 : -513, 0)
        av_opt_set_int(s, "dst_h_chr_pos", -513, 0)
        av_opt_set_int(s, "dst_v_chr_pos", -513, 0)
        let initialized = sws_init_context(sws, nil, nil)
        guard initialized >= 0 else {
            throw VideoError.decodingStopped(name, time: nil, reason: "cannot convert the pixel format "
                                             + Self.formatName(format) + " to RGB: " + FF.message(initialized))
        }
        // vf_scale's colour details: in_color_matrix "auto" (the frame's colour space), out matrix = in matrix.
        var invTable: UnsafeMutablePointer<Int32>? = nil
        var table: UnsafeMutablePointer<Int32>? = nil
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        sws_getColorspaceDetails(sws, &invTable, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation)
        var space = Int32(input.pointee.colorspace.rawValue)
        if space < 1 || space > 10 || space == 8 { space = Int32(AVCOL_SPC_BT470BG.rawValue) }
        let coefficients = sws_getCoefficients(space)
        if range != AVCOL_RANGE_UNSPECIFIED { srcRange = range == AVCOL_RANGE_JPEG ? 1 : 0 }
        sws_setColorspaceDetails(sws, coefficients, srcRange, coefficients, dstRange, brightness, contrast, saturation)

        var output = av_frame_alloc()
        guard let out = output else { throw VideoError.decodingStopped(name, time: nil, reason: "out of memory") }
        defer { av_frame_free(&output) }
        out.pointee.format = AV_PIX_FMT_RGB24.rawValue
        out.pointee.width = Int32(width)
        out.pointee.height = Int32(height)
        guard av_frame_get_buffer(out, 0) >= 0 else {
            throw VideoError.decodingStopped(name, time: nil, reason: "out of memory")
        }
        let scaled = sws_scale_frame(sws, out, input)
        guard scaled >= 0 else {
            throw VideoError.decodingStopped(name, time: nil, reason: "swscale failed: " + FF.message(scaled))
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let stride = Int(out.pointee.linesize.0)
        let base = out.pointee.data.0!
        pixels.withUnsafeMutableBytes { dst in
            for row in 0..<height {
                memcpy(dst.baseAddress! + row * width * 3, base + row * stride, width * 3)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func formatName(_ format: Int32) -> String {
        guard let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: format)) else { return "\(format)" }
        return String(cString: name)
    }
}
