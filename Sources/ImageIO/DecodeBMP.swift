/// Windows BMP decoder following Pillow's `BmpImagePlugin`: headers of 12 (OS/2 core), 40, 52, 56, 64, 108
/// and 124 bytes; 1/4/8-bit palettes (BGR or BGRX entries; an index past the palette gives black, as Pillow's
/// P->RGB), uncompressed or RLE8/RLE4 compressed (Pillow's `BmpRleDecoder`: encoded runs, absolute runs
/// padded to an even file offset, end of line, end of bitmap, delta); 16-bit 5-5-5 and, with BITFIELDS,
/// 5-6-5; 24-bit BGR; 32-bit BGRX and Pillow's BITFIELDS byte layouts (alpha ignored). Rows are bottom-up
/// unless the height is negative.
///
/// As Pillow, a palette that is exactly black/white (two entries) or one black entry makes the image
/// bilevel (mode "1": every non-zero sample is white), and a palette that is the gray ramp 0, 1, 2, ...
/// makes it grayscale (mode "L": the sample is the gray level); uncompressed data of such images is then
/// read as 1 or 8 bits per sample whatever the declared depth.
/// Every read is bounds-checked; JPEG and PNG compression are reported as unsupported.
enum BMPDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, maxPixels: UInt64) throws -> DecodedImage {
        let n = bytes.count
        func u8(_ o: Int) -> UInt32? { o >= 0 && o < n ? UInt32(bytes[o]) : nil }
        func u16(_ o: Int) -> UInt32? {
            guard o >= 0, o <= n - 2 else { return nil }
            return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8
        }
        func u32(_ o: Int) -> UInt32? {
            guard o >= 0, o <= n - 4 else { return nil }
            return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        func truncated(_ what: String) -> ImageIOError {
            ImageIOError(kind: .truncated, source: nil, reason: "truncated BMP data (\(what))")
        }
        func unsupported(_ what: String) -> ImageIOError {
            ImageIOError(kind: .unsupportedFormat, source: nil, reason: "unsupported BMP: \(what)")
        }

        func need16(_ o: Int) throws -> UInt32 { guard let v = u16(o) else { throw truncated("info header") }; return v }
        func need32(_ o: Int) throws -> UInt32 { guard let v = u32(o) else { throw truncated("info header") }; return v }
        guard let dataOffset = u32(10), let headerSize = u32(14) else { throw truncated("file header") }
        let headerEnd = 14 + Int(headerSize)
        guard [12, 40, 52, 56, 64, 108, 124].contains(headerSize) else {
            throw unsupported("header type (\(headerSize) bytes)")
        }
        guard headerEnd <= n else { throw truncated("info header") }

        var width: UInt64, height: UInt64, bits: UInt32, compression: UInt32 = 0, colors: UInt32 = 0
        var topDown = false
        var paletteEntrySize = 4
        var masks: [UInt32]? = nil
        var cursor = headerEnd  // where the palette (or external masks) start
        if headerSize == 12 {
            width = UInt64(try need16(18)); height = UInt64(try need16(20)); bits = try need16(24)
            paletteEntrySize = 3
        } else {
            width = UInt64(try need32(18))
            let rawHeight = try need32(22)
            topDown = (u8(25) ?? 0) == 0xFF  // Pillow: high byte 0xFF means a negative (top-down) height
            height = topDown ? UInt64((1 << 32) - UInt64(rawHeight)) : UInt64(rawHeight)
            bits = try need16(28)
            compression = try need32(30)
            colors = try need32(46)
            if compression == 3 {
                if headerSize >= 52 {
                    masks = [try need32(54), try need32(58), try need32(62), headerSize >= 56 ? try need32(66) : 0]
                } else {
                    guard let r = u32(cursor), let g = u32(cursor + 4), let b = u32(cursor + 8) else {
                        throw truncated("bit masks")
                    }
                    masks = [r, g, b, 0]
                    cursor += 12
                }
            }
        }
        if colors == 0 { colors = bits < 32 ? 1 << bits : 0 }

        // Pixel layout: (bytes per pixel, byte offsets of R, G, B) or a palette / 16-bit unpacking.
        enum Layout { case palette(bits: Int), rgb15, rgb16, bytes(bpp: Int, r: Int, g: Int, b: Int) }
        let layout: Layout
        switch compression {
        case 0:
            switch bits {
            case 1, 4, 8: layout = .palette(bits: Int(bits))
            case 16: layout = .rgb15
            case 24: layout = .bytes(bpp: 3, r: 2, g: 1, b: 0)
            case 32: layout = .bytes(bpp: 4, r: 2, g: 1, b: 0)
            default: throw unsupported("pixel depth \(bits)")
            }
        case 3:
            guard let m = masks else { throw unsupported("bitfields without masks") }
            let rgb = Array(m[0..<3])
            switch bits {
            case 32:
                let known: [[UInt32]] = [
                    [0xFF0000, 0xFF00, 0xFF, 0x0], [0xFF00_0000, 0xFF0000, 0xFF00, 0x0],
                    [0xFF00_0000, 0xFF00, 0xFF, 0x0], [0xFF00_0000, 0xFF0000, 0xFF00, 0xFF],
                    [0xFF, 0xFF00, 0xFF0000, 0xFF00_0000], [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000],
                    [0xFF00_0000, 0xFF00, 0xFF, 0xFF0000], [0, 0, 0, 0],
                ]
                guard known.contains(m) else { throw unsupported("bitfields layout") }
                if m == [0, 0, 0, 0] {
                    layout = .bytes(bpp: 4, r: 2, g: 1, b: 0)
                } else {
                    func byteIndex(_ mask: UInt32) -> Int { mask.trailingZeroBitCount / 8 }
                    layout = .bytes(bpp: 4, r: byteIndex(m[0]), g: byteIndex(m[1]), b: byteIndex(m[2]))
                }
            case 24:
                guard rgb == [0xFF0000, 0xFF00, 0xFF] else { throw unsupported("bitfields layout") }
                layout = .bytes(bpp: 3, r: 2, g: 1, b: 0)
            case 16:
                if rgb == [0xF800, 0x7E0, 0x1F] { layout = .rgb16 }
                else if rgb == [0x7C00, 0x3E0, 0x1F] { layout = .rgb15 }
                else { throw unsupported("bitfields layout") }
            default:
                throw unsupported("bitfields layout")
            }
        case 1, 2:
            // Pillow runs its RLE decoder for palette images only (other depths have no raw mode for it).
            guard bits == 1 || bits == 4 || bits == 8 else {
                throw unsupported("RLE compression with pixel depth \(bits)")
            }
            layout = .palette(bits: Int(bits))
        default:
            throw unsupported("compression \(compression)")
        }

        let w = max(width, 1), h = max(height, 1)
        if w > UInt64(UInt32.max) || h > UInt64(UInt32.max) || w * h > maxPixels {
            throw ImageIOError(kind: .tooLarge, source: nil,
                               reason: "image size (\(width) x \(height) = \(w * h) pixels) exceeds the limit of \(maxPixels) pixels")
        }
        guard width > 0, height > 0 else {
            throw ImageIOError(kind: .corrupt, source: nil, reason: "corrupt BMP: zero dimension (\(width) x \(height))")
        }

        var palette: [UInt8] = []  // RGB triples
        var pixelStart = Int(dataOffset)
        var paletteMode = PaletteMode.indexed
        if case .palette = layout {
            guard colors > 0, colors <= 65536 else { throw unsupported("palette size \(colors)") }
            let count = Int(colors)
            guard cursor + count * paletteEntrySize <= n else { throw truncated("palette") }
            palette.reserveCapacity(count * 3)
            for i in 0..<count {
                let o = cursor + i * paletteEntrySize
                palette += [bytes[o + 2], bytes[o + 1], bytes[o]]
            }
            paletteMode = PaletteMode.of(palette: palette)
            // Pillow: a data offset pointing right after the header skips the palette.
            if pixelStart == 14 + Int(headerSize) { pixelStart += paletteEntrySize * count }
            cursor += paletteEntrySize * count
        }
        // Pillow: a data offset of 0 means "where the headers (and palette) end".
        if pixelStart == 0 { pixelStart = cursor }

        let wi = Int(width), hi = Int(height)
        var out = [UInt8](repeating: 0, count: wi * hi * 3)
        if compression == 1 || compression == 2 {
            let indices = try decodeRLE(bytes, from: pixelStart, width: wi, height: hi, fourBit: compression == 2)
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<hi {
                    let y = topDown ? row : hi - 1 - row
                    for x in 0..<wi {
                        paletteMode.write(indices[row * wi + x], palette: palette, to: dst, at: (y * wi + x) * 3)
                    }
                }
            }
            return DecodedImage(image: RGBImage(width: wi, height: hi, pixels: out), exif: nil, xmp: nil, rawExifText: nil)
        }

        let packedStride = ((wi * Int(bits) + 31) >> 3) & ~3
        var stride = packedStride
        // A grayscale palette makes Pillow read one byte per sample. Loading from a file, it maps the rows
        // with a stride of at least the width when the file holds them all; otherwise its raw decoder
        // refuses rows shorter than the width.
        let grayBytes: Bool
        if case .palette = layout, paletteMode == .gray { grayBytes = true } else { grayBytes = false }
        if grayBytes { stride = max(packedStride, wi) }
        // Pillow's raw decoder needs every row in full, padding included.
        guard stride > 0, pixelStart >= 0, pixelStart <= n, (n - pixelStart) / hi >= stride else {
            if grayBytes && packedStride < wi {
                throw unsupported("\(bits)-bit rows with a grayscale palette are read as 8-bit and are too short")
            }
            throw truncated("pixel data")
        }
        out.withUnsafeMutableBufferPointer { dst in
            for row in 0..<hi {
                let y = topDown ? row : hi - 1 - row
                let src = pixelStart + row * stride
                var d = y * wi * 3
                for x in 0..<wi {
                    switch layout {
                    case .palette(let pb):
                        let index: Int
                        switch (paletteMode, pb) {
                        case (.gray, _): index = Int(bytes[src + x])
                        case (.bilevel, _), (_, 1): index = Int(bytes[src + x >> 3] >> (7 - UInt8(x & 7))) & 1
                        case (_, 4): index = Int(bytes[src + x >> 1] >> (x & 1 == 0 ? 4 : 0)) & 15
                        default: index = Int(bytes[src + x])
                        }
                        paletteMode.write(index, palette: palette, to: dst, at: d)
                    case .rgb15:
                        let v = Int(bytes[src + 2 * x]) | Int(bytes[src + 2 * x + 1]) << 8
                        dst[d] = UInt8((v >> 10 & 31) * 255 / 31)
                        dst[d + 1] = UInt8((v >> 5 & 31) * 255 / 31)
                        dst[d + 2] = UInt8((v & 31) * 255 / 31)
                    case .rgb16:
                        let v = Int(bytes[src + 2 * x]) | Int(bytes[src + 2 * x + 1]) << 8
                        dst[d] = UInt8((v >> 11 & 31) * 255 / 31)
                        dst[d + 1] = UInt8((v >> 5 & 63) * 255 / 63)
                        dst[d + 2] = UInt8((v & 31) * 255 / 31)
                    case .bytes(let bpp, let r, let g, let b):
                        let p = src + x * bpp
                        dst[d] = bytes[p + r]; dst[d + 1] = bytes[p + g]; dst[d + 2] = bytes[p + b]
                    }
                    d += 3
                }
            }
        }
        return DecodedImage(image: RGBImage(width: wi, height: hi, pixels: out), exif: nil, xmp: nil, rawExifText: nil)
    }

    /// Pillow's `BmpRleDecoder`: the palette indices of the image, `width * height` bytes in file row order
    /// (bottom-up unless top-down). Reading starts at file offset `start` and stops at the end of the data,
    /// at an end-of-bitmap escape, or when the image is full; absolute runs are padded to an even offset of
    /// the file. Fewer indices than pixels is an error, as Pillow's "not enough image data".
    static func decodeRLE(_ bytes: UnsafeRawBufferPointer, from start: Int, width: Int, height: Int,
                          fourBit: Bool) throws -> [UInt8] {
        let n = bytes.count
        let total = width * height
        var data = [UInt8](repeating: 0, count: total)
        var length = 0  // indices produced so far
        var x = 0  // column as Pillow tracks it (may run past the row after an absolute run)
        var pos = start
        decoding: while length < total {
            guard pos >= 0, pos + 2 <= n else { break }
            let count = Int(bytes[pos]), value = bytes[pos + 1]
            pos += 2
            if count > 0 {
                // Encoded run, cut at the end of the row.
                let run = min(x + count > width ? max(0, width - x) : count, total - length)
                for i in 0..<run {
                    data[length + i] = fourBit ? (i % 2 == 0 ? value >> 4 : value & 0x0F) : value
                }
                length += run
                x += run
                continue
            }
            switch value {
            case 0:  // end of line: zero-fill to the next row start
                length = (length + width - 1) / width * width
                x = 0
            case 1:  // end of bitmap
                break decoding
            case 2:  // delta: skip right + up * width pixels (left as index 0)
                guard pos + 2 <= n else { break decoding }
                let skip = Int(bytes[pos]) + Int(bytes[pos + 1]) * width
                pos += 2
                length += min(total - length, skip)
                x = length % width
            default:  // absolute run of `value` indices
                let wanted = Int(value)
                let count = min(total - length, wanted)
                let byteCount = fourBit ? (count + 1) / 2 : count
                let available = max(0, min(byteCount, n - pos))
                if fourBit {
                    for i in 0..<available {
                        let b = bytes[pos + i]
                        data[length] = b >> 4
                        length += 1
                        if i * 2 + 1 < count {
                            data[length] = b & 0x0F
                            length += 1
                        }
                    }
                } else {
                    for i in 0..<available { data[length + i] = bytes[pos + i] }
                    length += available
                }
                pos += available
                if available < byteCount || length == total { break decoding }
                x += wanted
                if pos % 2 != 0 { pos += 1 }
            }
        }
        guard length >= total else {
            throw ImageIOError(kind: .truncated, source: nil,
                               reason: "truncated BMP data (RLE data gives \(length) of \(total) pixels)")
        }
        return data
    }
}

/// How Pillow reads a BMP palette image (`BmpImagePlugin`): bilevel (mode "1") when the palette is exactly
/// black, white (or one black entry), grayscale (mode "L") when it is the ramp 0, 1, 2, ..., else indexed.
enum PaletteMode: Equatable {
    case bilevel, gray, indexed

    /// `palette` holds RGB triples.
    static func of(palette: [UInt8]) -> PaletteMode {
        let count = palette.count / 3
        for i in 0..<count {
            let v = UInt8(truncatingIfNeeded: count == 2 ? (i == 0 ? 0 : 255) : i)
            if palette[3 * i] != v || palette[3 * i + 1] != v || palette[3 * i + 2] != v { return .indexed }
        }
        return count <= 2 ? .bilevel : .gray
    }

    /// Writes the RGB of sample `index` at `dst[offset...]` as Pillow's conversion to RGB does.
    @inline(__always)
    func write(_ index: some BinaryInteger, palette: [UInt8], to dst: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let value: UInt8
        switch self {
        case .bilevel:
            value = index != 0 ? 255 : 0
        case .gray:
            value = UInt8(truncatingIfNeeded: index)
        case .indexed:
            let i = Int(index)
            if 3 * i + 2 < palette.count {
                dst[offset] = palette[3 * i]; dst[offset + 1] = palette[3 * i + 1]; dst[offset + 2] = palette[3 * i + 2]
            } else {
                dst[offset] = 0; dst[offset + 1] = 0; dst[offset + 2] = 0
            }
            return
        }
        dst[offset] = value; dst[offset + 1] = value; dst[offset + 2] = value
    }
}
