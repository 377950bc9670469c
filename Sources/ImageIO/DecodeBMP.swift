/// Windows BMP decoder following Pillow's `BmpImagePlugin` (uncompressed data): headers of 12 (OS/2 core),
/// 40, 52, 56, 64, 108 and 124 bytes; 1/4/8-bit palettes (BGR or BGRX entries; an index past the palette
/// gives black, as Pillow's P->RGB); 16-bit 5-5-5 and, with BITFIELDS, 5-6-5; 24-bit BGR; 32-bit BGRX and
/// Pillow's BITFIELDS byte layouts (alpha ignored). Rows are bottom-up unless the height is negative.
/// Every read is bounds-checked; RLE, JPEG and PNG compression are reported as unsupported.
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
            throw unsupported("RLE compression")
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
        if case .palette = layout {
            guard colors > 0, colors <= 65536 else { throw unsupported("palette size \(colors)") }
            let count = Int(colors)
            guard cursor + count * paletteEntrySize <= n else { throw truncated("palette") }
            palette.reserveCapacity(count * 3)
            for i in 0..<count {
                let o = cursor + i * paletteEntrySize
                palette += [bytes[o + 2], bytes[o + 1], bytes[o]]
            }
            // Pillow: a data offset pointing right after the header skips the palette.
            if pixelStart == 14 + Int(headerSize) { pixelStart += paletteEntrySize * count }
        }

        let wi = Int(width), hi = Int(height)
        let stride = ((wi * Int(bits) + 31) >> 3) & ~3
        // Pillow's raw decoder needs every row in full, padding included.
        guard stride > 0, pixelStart >= 0, pixelStart <= n, (n - pixelStart) / hi >= stride else {
            throw truncated("pixel data")
        }
        var out = [UInt8](repeating: 0, count: wi * hi * 3)
        let paletteColors = palette.count / 3
        out.withUnsafeMutableBufferPointer { dst in
            for row in 0..<hi {
                let y = topDown ? row : hi - 1 - row
                let src = pixelStart + row * stride
                var d = y * wi * 3
                for x in 0..<wi {
                    switch layout {
                    case .palette(let pb):
                        let index: Int
                        switch pb {
                        case 1: index = Int(bytes[src + x >> 3] >> (7 - UInt8(x & 7))) & 1
                        case 4: index = Int(bytes[src + x >> 1] >> (x & 1 == 0 ? 4 : 0)) & 15
                        default: index = Int(bytes[src + x])
                        }
                        if index < paletteColors {
                            dst[d] = palette[3 * index]; dst[d + 1] = palette[3 * index + 1]; dst[d + 2] = palette[3 * index + 2]
                        }
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
}
