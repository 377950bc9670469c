/// EXIF orientation as Pillow's `Image.getexif()` finds it, with a bounds-checked TIFF IFD reader.
///
/// Sources, in Pillow's order: the EXIF block (JPEG APP1 "Exif", PNG eXIf, WebP EXIF chunk); else a PNG
/// "Raw profile type exif" hex dump; then, when IFD0 holds no Orientation tag (0x0112), the first
/// `tiff:Orientation="N"` or `<tiff:Orientation>N` in the XMP packet.
enum EXIFOrientation {
    static let orientationTag: UInt16 = 0x0112

    /// Orientation 1-8, or 1 when absent, malformed or out of range.
    static func orientation(exif: [UInt8]?, xmp: [UInt8]?, rawProfileText: [UInt8]?) -> Int {
        var block = exif
        if block == nil, let text = rawProfileText { block = decodeRawProfile(text) }
        var found: Int? = nil
        var present = false
        if let block, let tag = TIFFDirectory.firstIFDTag(orientationTag, in: block) {
            present = true
            found = tag.firstInteger
        }
        if !present, let xmp { found = xmpOrientation(xmp) }
        guard let value = found, (1...8).contains(value) else { return 1 }
        return value
    }

    /// Pillow: `bytes.fromhex("".join(text.split("\n")[3:]))`; `nil` when the hex is invalid.
    static func decodeRawProfile(_ text: [UInt8]) -> [UInt8]? {
        var lines = 0
        var start = text.count
        for (i, c) in text.enumerated() where c == UInt8(ascii: "\n") {
            lines += 1
            if lines == 3 { start = i + 1; break }
        }
        var out: [UInt8] = []
        var high: UInt8? = nil
        var i = start
        while i < text.count {
            let c = text[i]
            i += 1
            if c == UInt8(ascii: "\n") { continue }
            if high == nil, c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C { continue }
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return high == nil ? out : nil
    }

    /// First match of `tiff:Orientation(="|>)([0-9])`.
    static func xmpOrientation(_ xmp: [UInt8]) -> Int? {
        let key = Array("tiff:Orientation".utf8)
        guard xmp.count > key.count + 1 else { return nil }
        var i = 0
        while i + key.count + 1 < xmp.count {
            if xmp[i] == key[0], Array(xmp[i..<(i + key.count)]) == key {
                var j = i + key.count
                if xmp[j] == UInt8(ascii: "=") {
                    j += 1
                    if j < xmp.count, xmp[j] == UInt8(ascii: "\"") { j += 1 } else { i += 1; continue }
                } else if xmp[j] == UInt8(ascii: ">") {
                    j += 1
                } else {
                    i += 1
                    continue
                }
                if j < xmp.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(xmp[j]) {
                    return Int(xmp[j] - UInt8(ascii: "0"))
                }
            }
            i += 1
        }
        return nil
    }
}

/// One tag of a TIFF image file directory.
struct TIFFTag {
    let type: UInt16
    let count: Int
    let bytes: ArraySlice<UInt8>
    let bigEndian: Bool

    /// The first value as an integer, as Pillow turns a single-valued numeric tag into a number that
    /// compares equal to an `int`: integer types, and RATIONAL/FLOAT/DOUBLE values that are whole numbers.
    var firstInteger: Int? {
        func u(_ offset: Int, _ size: Int) -> UInt64? {
            guard offset >= 0, size <= 8, bytes.count >= offset + size else { return nil }
            var v: UInt64 = 0
            for k in 0..<size {
                let b = UInt64(bytes[bytes.startIndex + offset + (bigEndian ? k : size - 1 - k)])
                v = v << 8 | b
            }
            return v
        }
        switch type {
        case 1: return u(0, 1).map { Int($0) }
        case 3: return u(0, 2).map { Int($0) }
        case 4: return u(0, 4).map { Int($0) }
        case 6: return u(0, 1).map { Int(Int8(truncatingIfNeeded: $0)) }
        case 8: return u(0, 2).map { Int(Int16(truncatingIfNeeded: $0)) }
        case 9: return u(0, 4).map { Int(Int32(truncatingIfNeeded: $0)) }
        case 16: return u(0, 8).flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil }
        case 17: return u(0, 8).map { Int(Int64(bitPattern: $0)) }
        case 5, 10:
            guard let n = u(0, 4), let d = u(4, 4), d != 0 else { return nil }
            let num = type == 5 ? Int64(n) : Int64(Int32(truncatingIfNeeded: n))
            let den = type == 5 ? Int64(d) : Int64(Int32(truncatingIfNeeded: d))
            guard den != 0, num % den == 0 else { return nil }
            return Int(num / den)
        case 11:
            guard let raw = u(0, 4) else { return nil }
            let f = Double(Float(bitPattern: UInt32(raw)))
            return f.isFinite && f == f.rounded() && abs(f) < 1e9 ? Int(f) : nil
        case 12:
            guard let raw = u(0, 8) else { return nil }
            let f = Double(bitPattern: raw)
            return f.isFinite && f == f.rounded() && abs(f) < 1e9 ? Int(f) : nil
        default:
            return nil  // ASCII, UNDEFINED, IFD: never equal to an orientation number
        }
    }
}

/// A minimal, bounds-checked reader of the first IFD of an EXIF (TIFF) block, both byte orders,
/// following Pillow's `ImageFileDirectory_v2.load`: the first occurrence of a tag wins, entries of unknown
/// type or zero size are skipped, an entry whose data would overrun the block stops the directory.
enum TIFFDirectory {
    /// TIFF unit sizes by field type (Pillow's supported set).
    static func unitSize(_ type: UInt16) -> Int? {
        switch type {
        case 1, 2, 6, 7: return 1
        case 3, 8: return 2
        case 4, 9, 11, 13: return 4
        case 5, 10, 12, 16, 17, 18: return 8
        default: return nil
        }
    }

    static func firstIFDTag(_ wanted: UInt16, in block: [UInt8]) -> TIFFTag? {
        var start = 0
        let prefix: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0", stripped at most twice
        for _ in 0..<2 where block.count >= start + 6 && Array(block[start..<(start + 6)]) == prefix { start += 6 }
        let data = block[start...]
        guard data.count >= 8 else { return nil }
        let b = data.startIndex
        let bigEndian: Bool
        switch (data[b], data[b + 1], data[b + 2], data[b + 3]) {
        case (0x4D, 0x4D, 0x00, 0x2A), (0x4D, 0x4D, 0x2A, 0x00): bigEndian = true
        case (0x49, 0x49, 0x2A, 0x00), (0x49, 0x49, 0x00, 0x2A): bigEndian = false
        default: return nil  // BigTIFF or not TIFF: Pillow cannot read it either
        }
        let count = data.count
        func read(_ offset: Int, _ size: Int) -> UInt64? {
            guard offset >= 0, size >= 0, offset <= count - size else { return nil }
            var v: UInt64 = 0
            for k in 0..<size {
                v = v << 8 | UInt64(data[b + offset + (bigEndian ? k : size - 1 - k)])
            }
            return v
        }
        guard let ifd = read(4, 4), ifd <= UInt64(Int.max), let entries = read(Int(ifd), 2) else { return nil }
        var seen = Set<UInt16>()
        var totalSize = 0
        var pos = Int(ifd) + 2
        for _ in 0..<Int(entries) {
            guard pos <= count - 12, let tag = read(pos, 2).map({ UInt16($0) }), let type = read(pos + 2, 2).map({ UInt16($0) }),
                  let n = read(pos + 4, 4) else { return nil }
            let valueField = pos + 8
            pos += 12
            if seen.contains(tag) { continue }
            guard let unit = unitSize(type) else { continue }
            let size = Int(n) * unit
            let payload: ArraySlice<UInt8>
            if size > 4 {
                guard let offset = read(valueField, 4) else { return nil }
                totalSize += size
                if totalSize > count { continue }
                guard offset <= UInt64(count - size) else { return nil }
                payload = data[(b + Int(offset))..<(b + Int(offset) + size)]
            } else {
                payload = data[(b + valueField)..<(b + valueField + size)]
            }
            if size == 0 { continue }
            seen.insert(tag)
            if tag == wanted { return TIFFTag(type: type, count: Int(n), bytes: payload, bigEndian: bigEndian) }
        }
        return nil
    }
}
