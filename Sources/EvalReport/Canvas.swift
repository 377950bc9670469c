// Drawing through cairo (shapes, PNG and SVG output) and pango (text layout, fontconfig's font fallback).
import CCairo
import Foundation

/// An sRGB colour, components in 0...1.
struct Color: Equatable {
    var red: Double
    var green: Double
    var blue: Double

    init(_ red: Double, _ green: Double, _ blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// From `0xRRGGBB`.
    init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xFF) / 255, Double((hex >> 8) & 0xFF) / 255, Double(hex & 0xFF) / 255)
    }

    static let white = Color(1, 1, 1)
    static let text = Color(hex: 0x1F2328)
    static let secondaryText = Color(hex: 0x57606A)
    static let grid = Color(hex: 0xE3E6EA)
    static let frame = Color(hex: 0x8C959F)

    /// Relative luminance (WCAG), to choose dark or light text on a filled cell.
    var luminance: Double {
        func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }
}

/// How a line of text is placed relative to the anchor's x.
enum TextAlign {
    case left, center, right
}

/// A font: size in pixels, regular or bold. One family list for every chart; fontconfig supplies the glyphs the
/// first family lacks (other scripts), as pango's font fallback does.
struct Font {
    var size: Double
    var bold = false

    static let family = "DejaVu Sans, Sans"
}

/// A cairo context with pango text. Coordinates in pixels, y down; text anchored at the top of its line box.
final class Canvas {
    let cr: OpaquePointer
    private let fontOptions: OpaquePointer

    init(_ cr: OpaquePointer) {
        self.cr = cr
        // The same text metrics on every surface (PNG and SVG): no hinting of metrics.
        fontOptions = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(fontOptions, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(fontOptions, CAIRO_HINT_STYLE_SLIGHT)
        cairo_font_options_set_antialias(fontOptions, CAIRO_ANTIALIAS_GRAY)
    }

    deinit { cairo_font_options_destroy(fontOptions) }

    func setColor(_ c: Color) { cairo_set_source_rgb(cr, c.red, c.green, c.blue) }

    func fillRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: Color) {
        setColor(color)
        cairo_rectangle(cr, x, y, w, h)
        cairo_fill(cr)
    }

    /// A rectangle's outline, `width` pixels wide, drawn inside-aligned on whole pixels when `width` is 1.
    func strokeRect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: Color, width: Double = 1) {
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_rectangle(cr, x + width / 2, y + width / 2, w - width, h - width)
        cairo_stroke(cr)
    }

    func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: Color, width: Double = 1,
              dash: [Double] = []) {
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_set_dash(cr, dash, Int32(dash.count), 0)
        cairo_move_to(cr, x0, y0)
        cairo_line_to(cr, x1, y1)
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
    }

    /// Size of `text` set in `font` (pixels), ellipsised at the end past `maxWidth` when given.
    func measure(_ text: String, _ font: Font, maxWidth: Double? = nil) -> (width: Double, height: Double) {
        let layout = makeLayout(text, font, maxWidth: maxWidth)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        var w: Int32 = 0, h: Int32 = 0
        pango_layout_get_pixel_size(layout, &w, &h)
        return (Double(w), Double(h))
    }

    /// Draws one line of `text` with its line box's top at `y`, placed by `align` at `x`, turned by `angle`
    /// radians about the anchor (`-π/2`: reading upwards). Past `maxWidth`, the end is replaced by "…".
    func text(_ text: String, x: Double, y: Double, _ font: Font, _ color: Color, align: TextAlign = .left,
              maxWidth: Double? = nil, angle: Double = 0) {
        cairo_save(cr)
        cairo_translate(cr, x, y)
        if angle != 0 { cairo_rotate(cr, angle) }
        let layout = makeLayout(text, font, maxWidth: maxWidth)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        var w: Int32 = 0, h: Int32 = 0
        pango_layout_get_pixel_size(layout, &w, &h)
        let dx: Double
        switch align {
        case .left: dx = 0
        case .center: dx = -Double(w) / 2
        case .right: dx = -Double(w)
        }
        // A layout given a width lays out its line within it; its ink starts at the line's own x offset.
        var ink = PangoRectangle(), logical = PangoRectangle()
        pango_layout_get_pixel_extents(layout, &ink, &logical)
        cairo_move_to(cr, dx - Double(logical.x), 0)
        setColor(color)
        pango_cairo_show_layout(cr, layout)
        cairo_restore(cr)
    }

    private func makeLayout(_ text: String, _ font: Font, maxWidth: Double?) -> OpaquePointer {
        let layout = pango_cairo_create_layout(cr)!
        let context = pango_layout_get_context(layout)
        pango_cairo_context_set_font_options(context, fontOptions)
        pango_layout_context_changed(layout)
        let description = pango_font_description_from_string(Font.family)
        pango_font_description_set_absolute_size(description, font.size * Double(PANGO_SCALE))
        pango_font_description_set_weight(description, font.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_layout_set_font_description(layout, description)
        pango_font_description_free(description)
        pango_layout_set_single_paragraph_mode(layout, 1)
        if let maxWidth {
            pango_layout_set_width(layout, Int32(max(1, maxWidth) * Double(PANGO_SCALE)))
            pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END)
        }
        pango_layout_set_text(layout, text, -1)
        return layout
    }
}

/// A picture of a fixed size in pixels, drawn once per output surface.
struct Drawing {
    let width: Int
    let height: Int
    /// The SVG's `<title>` and `<desc>`: cairo writes text as glyph outlines, so the words a search or a screen
    /// reader needs (the chart's title, the class names) go there.
    let title: String
    let description: String
    let draw: (Canvas) -> Void

    /// Text measurements before a picture's size is known, on a scratch surface with the same font options.
    static func measuring<T>(_ body: (Canvas) -> T) -> T {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)!
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr) }
        return body(Canvas(cr))
    }

    /// The drawing as PNG bytes (8-bit RGB with alpha, white background).
    func png() throws -> Data {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))!
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), "creating a \(width)×\(height) image")
        render(on: surface)
        return try pngData(of: surface)
    }

    /// The drawing as an SVG document (units: px), with `title` and `description` as its `<title>` and `<desc>`.
    func svg() throws -> Data {
        let sink = ByteSink()
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        let surface = cairo_svg_surface_create_for_stream(byteSinkWrite, box.toOpaque(), Double(width),
                                                          Double(height))!
        cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX)
        render(on: surface)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        try check(status, "writing SVG")
        guard var text = String(data: sink.data, encoding: .utf8),
              let open = text.range(of: "<svg"), let end = text[open.upperBound...].firstIndex(of: ">") else {
            throw RenderError(reason: "cairo wrote no <svg> element")
        }
        let metadata = "\n<title>\(Markup.escape(title))</title>\n<desc>\(Markup.escape(description))</desc>"
        text.insert(contentsOf: metadata, at: text.index(after: end))
        return Data(text.utf8)
    }

    private func render(on surface: OpaquePointer) {
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr) }
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        draw(Canvas(cr))
    }
}

/// A failure inside cairo (out of memory, an invalid size).
struct RenderError: Error, LocalizedError {
    let reason: String
    var errorDescription: String? { reason }
}

private func check(_ status: cairo_status_t, _ what: String) throws {
    guard status == CAIRO_STATUS_SUCCESS else {
        throw RenderError(reason: "\(what): \(String(cString: cairo_status_to_string(status)))")
    }
}

/// Collects what cairo writes to a stream.
private final class ByteSink {
    var data = Data()
}

private let byteSinkWrite: cairo_write_func_t = { closure, bytes, length in
    guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
    Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}

/// PNG bytes of an image surface, as cairo's PNG writer encodes them.
func pngData(of surface: OpaquePointer) throws -> Data {
    let sink = ByteSink()
    let box = Unmanaged.passRetained(sink)
    defer { box.release() }
    try check(cairo_surface_write_to_png_stream(surface, byteSinkWrite, box.toOpaque()), "encoding PNG")
    return sink.data
}

/// PNG bytes of 8-bit RGB pixels (`[height, width, 3]`), through a cairo RGB24 image surface.
func pngData(width: Int, height: Int, rgb: [UInt8]) throws -> Data {
    let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))!
    defer { cairo_surface_destroy(surface) }
    try check(cairo_surface_status(surface), "creating a \(width)×\(height) image")
    cairo_surface_flush(surface)
    let stride = Int(cairo_image_surface_get_stride(surface))
    let base = UnsafeMutableRawPointer(cairo_image_surface_get_data(surface)!)
    rgb.withUnsafeBufferPointer { src in
        for y in 0..<height {
            let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let i = (y * width + x) * 3
                // CAIRO_FORMAT_RGB24: one native-endian 32-bit word per pixel, 0x??RRGGBB.
                row[x] = 0xFF00_0000 | UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
            }
        }
    }
    cairo_surface_mark_dirty(surface)
    return try pngData(of: surface)
}
