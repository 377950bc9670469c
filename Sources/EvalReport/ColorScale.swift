// The heatmap's colour scale.

/// A sequential scale from light to dark blue: ColorBrewer's 9-class "Blues" (Cynthia Brewer, colorbrewer2.org),
/// interpolated linearly between its stops as matplotlib's `Blues` colormap is. Lightness falls monotonically with
/// the value, so darker always means more, also in greyscale.
enum ColorScale {
    static let stops: [UInt32] = [0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6, 0x4292C6, 0x2171B5, 0x08519C,
                                  0x08306B]

    /// The scale at `t` in 0...1 (clamped).
    static func color(at t: Double) -> Color {
        let t = min(max(t.isNaN ? 0 : t, 0), 1)
        let position = t * Double(stops.count - 1)
        let i = min(Int(position), stops.count - 2)
        let f = position - Double(i)
        let a = Color(hex: stops[i]), b = Color(hex: stops[i + 1])
        return Color(a.red + (b.red - a.red) * f, a.green + (b.green - a.green) * f, a.blue + (b.blue - a.blue) * f)
    }

    /// Where a confusion cell's row fraction sits on the scale: an empty cell is white, any other starts at 20 %
    /// of the scale, so that a single image in a large row stays visible; the colour bar shows the same mapping.
    static func cellColor(fraction: Double) -> Color {
        fraction > 0 ? color(at: 0.2 + 0.8 * fraction) : .white
    }
}
