import Foundation

/// Resampling filters, numbered as `PIL.Image.Resampling` (the `resample` key of `preprocessor_config.json`).
///
/// Each filter reproduces Pillow 13's `Image.resize` on 8-bit images bit for bit: the convolution filters
/// use Pillow's antialiased two-pass separable resampling with fixed-point coefficients, `nearest` uses
/// Pillow's affine nearest-neighbour scaling.
public enum ResamplingFilter: Int, Sendable, CaseIterable, CustomStringConvertible {
    case nearest = 0
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5
    /// Magic Kernel Sharp 2013 (Pillow 13).
    case mks2013 = 6
    /// Magic Kernel Sharp 2021 (Pillow 13).
    case mks2021 = 7

    public var description: String {
        switch self {
        case .nearest: "NEAREST"
        case .lanczos: "LANCZOS"
        case .bilinear: "BILINEAR"
        case .bicubic: "BICUBIC"
        case .box: "BOX"
        case .hamming: "HAMMING"
        case .mks2013: "MKS2013"
        case .mks2021: "MKS2021"
        }
    }

    /// Half-width of the kernel at scale 1, in source pixels (`nil` for `nearest`).
    var support: Double? {
        switch self {
        case .nearest: nil
        case .box: 0.5
        case .bilinear, .hamming: 1.0
        case .bicubic: 2.0
        case .mks2013: 2.5
        case .lanczos: 3.0
        case .mks2021: 4.5
        }
    }

    /// The continuous kernel, evaluated in double precision with the same operation order as Pillow.
    @inline(__always)
    func weight(_ t: Double) -> Double {
        switch self {
        case .nearest:
            return 0
        case .box:
            return (t > -0.5 && t <= 0.5) ? 1.0 : 0.0
        case .bilinear:
            let x = abs(t)
            return x < 1.0 ? 1.0 - x : 0.0
        case .hamming:
            let x = abs(t)
            if x == 0.0 { return 1.0 }
            if x >= 1.0 { return 0.0 }
            let px = x * Double.pi
            // Pillow writes the window constants as single-precision literals.
            return sin(px) / px * (Double(Float(0.54)) + Double(Float(0.46)) * cos(px))
        case .bicubic:
            // Keys cubic convolution with a = -0.5.
            let a = -0.5
            let x = abs(t)
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .lanczos:
            // Sinc windowed by sinc(x/3), truncated to [-3, 3).
            if -3.0 <= t && t < 3.0 { return Self.sinc(t) * Self.sinc(t / 3) }
            return 0.0
        case .mks2013:
            let x = abs(t)
            if x >= 2.5 { return 0.0 }
            if x >= 1.5 { return (x - 5.0 / 2.0) * (x - 5.0 / 2.0) / -8.0 }
            if x >= 0.5 { return (4.0 * x * x - 11.0 * x + 7.0) / 4.0 }
            return 17.0 / 16.0 - 7.0 * x * x / 4.0
        case .mks2021:
            let x = abs(t)
            if x >= 4.5 { return 0.0 }
            if x >= 3.5 { return (4.0 * x * x - 36.0 * x + 81.0) / -1152.0 }
            if x >= 2.5 { return (4.0 * x * x - 27.0 * x + 45.0) / 144.0 }
            if x >= 1.5 { return (24.0 * x * x - 113.0 * x + 130.0) / -144.0 }
            if x >= 0.5 { return (140.0 * x * x - 379.0 * x + 239.0) / 144.0 }
            return 577.0 / 576.0 - 239.0 * x * x / 144.0
        }
    }

    @inline(__always)
    private static func sinc(_ t: Double) -> Double {
        if t == 0.0 { return 1.0 }
        let x = t * Double.pi
        return sin(x) / x
    }
}

/// Fixed-point precision of the 8-bit resampling coefficients: 32 bits minus 8 for the
/// sample minus 2 for overshoot of negative lobes (Pillow's `PRECISION_BITS`).
private let precisionBits: Int32 = 32 - 8 - 2

/// Per-output-pixel taps of one axis: the first source index, the number of taps, and
/// `taps` fixed-point weights per output pixel (zero-filled beyond the count).
struct ResampleCoefficients: Sendable {
    let outSize: Int
    /// The first output pixel described; entries are stored for `range` only (index `i - start`).
    let start: Int
    /// Stride between consecutive output pixels in `weights`.
    let taps: Int
    /// `first[i - start]` is the first source index read by output pixel `i`; `count[i - start]` the number of taps.
    let first: [Int]
    let count: [Int]
    let weights: [Int32]

    /// Taps for resampling `inSize` source pixels onto `outSize` output pixels over the whole source span.
    ///
    /// The kernel is stretched by the downscale factor (antialiasing), each output pixel's weights are
    /// normalised to sum to 1 and rounded half away from zero to `2^22` fixed point, as Pillow does.
    /// Only the output pixels of `range` (default all) are computed, so that memory follows what is kept
    /// (a very tall image resized and then cropped needs the taps of the crop only).
    init(inSize: Int, outSize: Int, filter: ResamplingFilter, range: Range<Int>? = nil) {
        let range = range ?? 0..<outSize
        let baseSupport = filter.support ?? 0.5
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = baseSupport * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverse = 1.0 / filterScale
        let one = Double(Int32(1) << precisionBits)

        var first = [Int](repeating: 0, count: range.count)
        var count = [Int](repeating: 0, count: range.count)
        var weights = [Int32](repeating: 0, count: range.count * taps)
        var scratch = [Double](repeating: 0, count: taps)

        for xx in range {
            let center = (Double(xx) + 0.5) * scale
            // Truncation toward zero, then clamping, as in Pillow.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            let n = max(0, min(xmax - xmin, taps))
            var sum = 0.0
            for x in 0..<n {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverse)
                scratch[x] = w
                sum += w
            }
            let base = (xx - range.lowerBound) * taps
            for x in 0..<n {
                var w = scratch[x]
                if sum != 0.0 { w /= sum }
                weights[base + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            first[xx - range.lowerBound] = xmin
            count[xx - range.lowerBound] = n
        }
        self.outSize = outSize
        self.start = range.lowerBound
        self.taps = taps
        self.first = first
        self.count = count
        self.weights = weights
    }
}

/// A rectangle of the output grid, `[x0, x1) x [y0, y1)`.
struct PixelWindow: Sendable, Equatable {
    var x0: Int, y0: Int, x1: Int, y1: Int
    var width: Int { x1 - x0 }
    var height: Int { y1 - y0 }
}

@inline(__always)
private func clip8(_ acc: Int32) -> UInt8 {
    let v = acc >> precisionBits
    return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
}

/// Pillow's `Image.resize(size, filter)` (no `box`, no `reducing_gap`) on an 8-bit RGB image, restricted to
/// `window` of the `outWidth x outHeight` output grid. Every output byte equals Pillow's; pixels outside the
/// window are not computed. Returns `window.height x window.width x 3` bytes.
///
/// Pass order as Pillow 13: horizontal then vertical, except when the height shrinks by more than twice
/// as many pixels as the width does, where the vertical pass runs first. The intermediate image is 8-bit.
func pillowResample(
    _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int,
    outWidth: Int, outHeight: Int, filter: ResamplingFilter, window: PixelWindow
) -> [UInt8] {
    precondition(src.count >= width * height * 3)
    precondition(window.x0 >= 0 && window.y0 >= 0 && window.x1 <= outWidth && window.y1 <= outHeight
        && window.x0 < window.x1 && window.y0 < window.y1)

    if filter == .nearest {
        return nearestResample(src, width: width, height: height,
                               outWidth: outWidth, outHeight: outHeight, window: window)
    }
    let needHorizontal = outWidth != width
    let needVertical = outHeight != height
    if !needHorizontal && !needVertical {
        return copyWindow(src, width: width, window: window)
    }

    let verticalFirst = outHeight < height && (height - outHeight) > 2 * (width - outWidth)
    let horizontal = needHorizontal
        ? ResampleCoefficients(inSize: width, outSize: outWidth, filter: filter, range: window.x0..<window.x1) : nil
    let vertical = needVertical
        ? ResampleCoefficients(inSize: height, outSize: outHeight, filter: filter, range: window.y0..<window.y1) : nil

    if verticalFirst, let v = vertical {
        // Source columns feeding the window's output columns.
        let colFirst: Int, colEnd: Int
        if let h = horizontal {
            colFirst = h.first[window.x0 - h.start]
            colEnd = h.first[window.x1 - 1 - h.start] + h.count[window.x1 - 1 - h.start]
        } else {
            colFirst = window.x0
            colEnd = window.x1
        }
        let temp = verticalPass(src, stride: width * 3, colFirst: colFirst, cols: colEnd - colFirst,
                                rowOffset: 0, coefficients: v, rows: window.y0..<window.y1)
        guard let h = horizontal else { return temp }
        return temp.withUnsafeBufferPointer { t in
            horizontalPass(t, stride: (colEnd - colFirst) * 3, colOffset: colFirst,
                           rows: 0..<window.height, coefficients: h, cols: window.x0..<window.x1)
        }
    } else {
        guard let h = horizontal else {
            guard let v = vertical else { return copyWindow(src, width: width, window: window) }
            return verticalPass(src, stride: width * 3, colFirst: window.x0, cols: window.width,
                                rowOffset: 0, coefficients: v, rows: window.y0..<window.y1)
        }
        // Source rows feeding the window's output rows.
        let rowFirst: Int, rowEnd: Int
        if let v = vertical {
            rowFirst = v.first[window.y0 - v.start]
            rowEnd = v.first[window.y1 - 1 - v.start] + v.count[window.y1 - 1 - v.start]
        } else {
            rowFirst = window.y0
            rowEnd = window.y1
        }
        let temp = horizontalPass(src, stride: width * 3, colOffset: 0, rows: rowFirst..<rowEnd,
                                  coefficients: h, cols: window.x0..<window.x1)
        guard let v = vertical else { return temp }
        return temp.withUnsafeBufferPointer { t in
            verticalPass(t, stride: window.width * 3, colFirst: 0, cols: window.width,
                         rowOffset: rowFirst, coefficients: v, rows: window.y0..<window.y1)
        }
    }
}

/// Horizontal convolution of source rows `rows` into output columns `cols`. Source column `c` of the
/// coefficient table is found at buffer column `c - colOffset`. Returns `rows.count x cols.count x 3` bytes.
private func horizontalPass(
    _ src: UnsafeBufferPointer<UInt8>, stride: Int, colOffset: Int, rows: Range<Int>,
    coefficients k: ResampleCoefficients, cols: Range<Int>
) -> [UInt8] {
    let outStride = cols.count * 3
    let half: Int32 = 1 << (precisionBits - 1)
    var out = [UInt8](repeating: 0, count: rows.count * outStride)
    out.withUnsafeMutableBufferPointer { o in
        k.weights.withUnsafeBufferPointer { w in
            k.first.withUnsafeBufferPointer { firsts in
                k.count.withUnsafeBufferPointer { counts in
                    guard let s = src.baseAddress, let ob = o.baseAddress, let wb = w.baseAddress else { return }
                    for (r, y) in rows.enumerated() {
                        let row = s + y * stride
                        var dst = ob + r * outStride
                        for xx in cols {
                            var p = row + (firsts[xx - k.start] - colOffset) * 3
                            var kp = wb + (xx - k.start) * k.taps
                            var s0 = half, s1 = half, s2 = half
                            for _ in 0..<counts[xx - k.start] {
                                let c = kp.pointee
                                s0 &+= Int32(p[0]) &* c
                                s1 &+= Int32(p[1]) &* c
                                s2 &+= Int32(p[2]) &* c
                                p += 3
                                kp += 1
                            }
                            dst[0] = clip8(s0)
                            dst[1] = clip8(s1)
                            dst[2] = clip8(s2)
                            dst += 3
                        }
                    }
                }
            }
        }
    }
    return out
}

/// Vertical convolution into output rows `rows`, over `cols` byte-triples starting at column `colFirst`.
/// Source row `r` of the coefficient table is found at buffer row `r - rowOffset`.
/// Returns `rows.count x cols x 3` bytes.
private func verticalPass(
    _ src: UnsafeBufferPointer<UInt8>, stride: Int, colFirst: Int, cols: Int, rowOffset: Int,
    coefficients k: ResampleCoefficients, rows: Range<Int>
) -> [UInt8] {
    let n = cols * 3
    let half: Int32 = 1 << (precisionBits - 1)
    var out = [UInt8](repeating: 0, count: rows.count * n)
    var acc = [Int32](repeating: 0, count: n)
    out.withUnsafeMutableBufferPointer { o in
        acc.withUnsafeMutableBufferPointer { a in
            guard let s = src.baseAddress, let ob = o.baseAddress, let ab = a.baseAddress else { return }
            for (r, yy) in rows.enumerated() {
                for i in 0..<n { ab[i] = half }
                let base = (yy - k.start) * k.taps
                let y0 = k.first[yy - k.start] - rowOffset
                for t in 0..<k.count[yy - k.start] {
                    let c = k.weights[base + t]
                    let line = s + (y0 + t) * stride + colFirst * 3
                    // Wrapping integer sums are order-independent, so accumulating row by row
                    // gives exactly the per-pixel sums.
                    for i in 0..<n { ab[i] &+= Int32(line[i]) &* c }
                }
                let dst = ob + r * n
                for i in 0..<n { dst[i] = clip8(ab[i]) }
            }
        }
    }
    return out
}

private func copyWindow(_ src: UnsafeBufferPointer<UInt8>, width: Int, window: PixelWindow) -> [UInt8] {
    let n = window.width * 3
    var out = [UInt8](repeating: 0, count: window.height * n)
    out.withUnsafeMutableBufferPointer { o in
        for (r, y) in (window.y0..<window.y1).enumerated() {
            let from = (y * width + window.x0) * 3
            for i in 0..<n { o[r * n + i] = src[from + i] }
        }
    }
    return out
}

/// Source index per output index for Pillow's nearest-neighbour scaling: the position starts at half
/// a step and is advanced by repeated addition of the step `in/out` in double precision, then truncated.
/// Returns -1 where the position falls outside the source.
private func nearestTable(inSize: Int, outSize: Int) -> [Int] {
    let step = Double(inSize) / Double(outSize)
    var pos = step * 0.5
    var table = [Int](repeating: -1, count: outSize)
    for i in 0..<outSize {
        let v = pos < 0.0 ? -1 : Int(pos)
        if v >= 0 && v < inSize { table[i] = v }
        pos += step
    }
    return table
}

private func nearestResample(
    _ src: UnsafeBufferPointer<UInt8>, width: Int, height: Int,
    outWidth: Int, outHeight: Int, window: PixelWindow
) -> [UInt8] {
    if outWidth == width && outHeight == height {
        return copyWindow(src, width: width, window: window)
    }
    let xs = nearestTable(inSize: width, outSize: outWidth)
    let ys = nearestTable(inSize: height, outSize: outHeight)
    // Pillow copies columns between the first and last valid ones; an invalid column inside
    // that span reads source column 0, outside it stays 0.
    let validColumns = xs.indices.filter { xs[$0] >= 0 }
    let xmin = validColumns.first ?? outWidth
    let xmax = (validColumns.last ?? -1) + 1
    let n = window.width * 3
    var out = [UInt8](repeating: 0, count: window.height * n)
    for (r, y) in (window.y0..<window.y1).enumerated() {
        let yi = ys[y]
        if yi < 0 { continue }
        for (c, x) in (window.x0..<window.x1).enumerated() where x >= xmin && x < xmax {
            let from = (yi * width + max(xs[x], 0)) * 3
            let to = r * n + c * 3
            out[to] = src[from]
            out[to + 1] = src[from + 1]
            out[to + 2] = src[from + 2]
        }
    }
    return out
}

extension RGBImage {
    /// This image resized to `width x height` exactly as Pillow 13's `Image.resize((width, height), filter)`
    /// on an RGB image (no `box`, no `reducing_gap`). The transparent colour is kept, as Pillow keeps `info`.
    ///
    /// - Precondition: `width > 0 && height > 0`.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResamplingFilter = .bicubic) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be at least 1x1")
        let bytes = pixels.withUnsafeBufferPointer { p in
            pillowResample(p, width: width, height: height, outWidth: outWidth, outHeight: outHeight,
                           filter: filter, window: PixelWindow(x0: 0, y0: 0, x1: outWidth, y1: outHeight))
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: bytes, transparentColor: transparentColor)
    }
}
